"""Fixtures for the client-compatibility suite.

Each fixture starts the real ``flusso`` binary on free loopback ports with a
fresh temporary data directory and waits for ``GET /healthcheck``.

Binary: ``$FLUSSO_BIN`` or ``<repo>/target/debug/flusso``.
Run:    FLUSSO_BIN=$PWD/target/debug/flusso .venv/bin/pytest tests/clients -q
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
LOG_TAIL_LINES = 80


def flusso_bin() -> Path:
    env = os.environ.get("FLUSSO_BIN")
    return Path(env) if env else REPO_ROOT / "target" / "debug" / "flusso"


def free_port() -> int:
    """A port that was free a moment ago (bind to port 0, then close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        p = free_port()
        if p not in ports:
            ports.append(p)
    return ports


class ServerError(RuntimeError):
    pass


class FlussoServer:
    """One ``flusso server`` process bound to fixed ports and a data dir.

    ``stop()`` / ``start()`` / ``restart()`` keep the same ports and data
    directory, so clients can reconnect to the same bootstrap address.
    """

    def __init__(self, data_dir: Path, log_path: Path, num_partitions: int = 1,
                 extra_args: list[str] | None = None):
        self.binary = flusso_bin()
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.num_partitions = num_partitions
        self.extra_args = list(extra_args or [])
        self.kafka_port, self.http_port = _free_ports(2)
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    # -- addresses ---------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    # -- lifecycle ---------------------------------------------------------
    def command(self) -> list[str]:
        return [
            str(self.binary), "server",
            "--data-dir", str(self.data_dir),
            "--kafka-listen", self.bootstrap,
            "--advertised-kafka", self.bootstrap,
            "--http-listen", f"127.0.0.1:{self.http_port}",
            "--log-level", "info",
            "--num-partitions", str(self.num_partitions),
            *self.extra_args,
        ]

    def start(self) -> "FlussoServer":
        if not self.binary.exists():
            raise ServerError(
                f"flusso binary not found at {self.binary} "
                "(build it, or set FLUSSO_BIN to its absolute path)")
        if self.running():
            raise ServerError("server already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLUSSO_")}
        env.setdefault("RUST_BACKTRACE", "1")
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=env, cwd=str(self.data_dir.parent))
        self.wait_ready()
        return self

    def health(self, timeout: float = 2.0) -> dict | None:
        """Parsed /healthcheck JSON if it answers 200, else None."""
        try:
            with urllib.request.urlopen(self.http + "/healthcheck", timeout=timeout) as r:
                if r.status != 200:
                    return None
                return json.loads(r.read().decode("utf-8"))
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            return None

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerError(
                    f"flusso exited with code {self.proc.returncode} before becoming "
                    f"healthy\n{self.log_tail()}")
            body = self.health()
            if body is not None and body.get("isHealthy") is True:
                return body
            time.sleep(0.1)
        raise ServerError(f"flusso not healthy after {timeout}s\n{self.log_tail()}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM and wait. Returns the exit code; raises if it hangs."""
        if self.proc is None:
            raise ServerError("server was never started")
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise ServerError(
                    f"flusso did not exit within {timeout}s of SIGTERM (killed)\n"
                    f"{self.log_tail()}")
        return self.proc.returncode

    def kill(self) -> None:
        """Teardown: SIGTERM, then SIGKILL if it lingers. Never raises."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def crash(self) -> int:
        """SIGKILL (an unclean stop) and wait. Returns the exit code."""
        if self.proc is None:
            raise ServerError("server was never started")
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        return self.proc.returncode

    def restart(self) -> int:
        """Clean stop (SIGTERM) then start on the same ports and data dir.

        Returns the exit code of the stopped process.
        """
        code = self.stop()
        self.start()
        return code

    # -- diagnostics -------------------------------------------------------
    def log_tail(self, n: int = LOG_TAIL_LINES) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return f"--- last {min(n, len(lines))} lines of {self.log_path} ---\n" + "\n".join(lines[-n:])


def _start_server(tmp_path: Path, **kwargs) -> FlussoServer:
    """Start with fresh ports; retry if a port was grabbed in the meantime."""
    last: Exception | None = None
    for attempt in range(3):
        server = FlussoServer(tmp_path / "data", tmp_path / f"flusso-{attempt}.log", **kwargs)
        try:
            return server.start()
        except ServerError as e:
            server.kill()
            last = e
            if "in use" not in str(e).lower():
                break
    pytest.fail(str(last), pytrace=False)


@pytest.fixture(scope="session")
def flusso(tmp_path_factory):
    """A server shared by the whole session (tests use unique topic names)."""
    server = _start_server(tmp_path_factory.mktemp("flusso-session"))
    yield server
    server.kill()


@pytest.fixture
def flusso_fresh(tmp_path):
    """A server of the test's own, free to be stopped and restarted."""
    server = _start_server(tmp_path)
    yield server
    server.kill()


@pytest.fixture
def flusso_factory(tmp_path):
    """Start servers with custom flags: ``flusso_factory(extra_args=[...])``."""
    servers: list[FlussoServer] = []

    def make(**kwargs) -> FlussoServer:
        server = _start_server(tmp_path / f"srv{len(servers)}", **kwargs)
        servers.append(server)
        return server

    make.servers = servers
    yield make
    for server in servers:
        server.kill()


@pytest.fixture
def topic(request) -> str:
    """A unique, valid topic name derived from the test name."""
    base = re.sub(r"[^a-zA-Z0-9._-]+", "-", request.node.name).strip("-")[:80]
    return f"{base}-{uuid.uuid4().hex[:8]}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    funcargs = getattr(item, "funcargs", {}) or {}
    for name, value in funcargs.items():
        if isinstance(value, FlussoServer):
            report.sections.append((f"flusso server log ({name})", value.log_tail()))
        elif name == "flusso_factory":
            for i, server in enumerate(getattr(value, "servers", [])):
                report.sections.append((f"flusso server log ({name} #{i})", server.log_tail()))
