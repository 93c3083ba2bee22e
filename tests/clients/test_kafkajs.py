"""kafkajs (Node.js) consumer groups against a real ``flusso server``.

Runs ``tests/clients/kafkajs/groups.test.mjs`` with node's built-in test
runner. Installs the pinned kafkajs with ``npm ci`` when node_modules is
missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent / "kafkajs"
NODE = shutil.which("node")
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(
    NODE is None, reason="node not found on PATH (apt-get install -y nodejs npm)")


def _run(cmd: list[str], timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=PROJECT, capture_output=True, text=True, timeout=timeout,
                          env=env)


def _install() -> None:
    if (PROJECT / "node_modules" / "kafkajs" / "package.json").exists():
        return
    assert NPM is not None, "node is installed but npm is not (apt-get install -y npm)"
    proc = _run([NPM, "ci", "--no-audit", "--no-fund"], timeout=300)
    assert proc.returncode == 0, f"npm ci failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def test_kafkajs_groups(flusso):
    _install()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUSSO_")}
    env["FLUSSO_BOOTSTRAP"] = flusso.bootstrap
    proc = _run([NODE, "--test", "groups.test.mjs"], timeout=300, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"node --test failed ({proc.returncode}):\n{out[-8000:]}"
    assert "# fail 0" in out and "# pass 2" in out, out[-4000:]
