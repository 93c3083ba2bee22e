"""kcat balanced consumers (``kcat -G group topic``, librdkafka's
KafkaConsumer) against a real ``flusso server``."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter

import pytest

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
pytestmark = pytest.mark.skipif(
    KCAT is None, reason="kcat not found on PATH (apt-get install -y kcat)")

DEADLINE_S = 60.0
PARTITIONS = 4
GROUP_ARGS = ["-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=1000",
              "-X", "broker.address.family=v4"]


def create_topic(boot: str, topic: str, partitions: int = PARTITIONS) -> None:
    from test_kcat import create_topic as create
    create(boot, topic, partitions)


def committed(boot: str, group: str) -> dict[int, int]:
    from kafka import KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers=[boot])
    try:
        offs = a.list_group_offsets({group: None})[group]
    finally:
        a.close()
    return {tp.partition: o.offset for tp, o in offs.items()}


def produce(boot: str, topic: str, per_partition: int, start: int = 0) -> set[tuple[int, int]]:
    """kcat -P, ``per_partition`` lines to each partition (offsets from
    ``start``); returns the expected (partition, offset) pairs."""
    for p in range(PARTITIONS):
        lines = "".join(f"p{p}-{i}\n" for i in range(start, start + per_partition))
        proc = subprocess.run([KCAT, "-P", "-b", boot, "-t", topic, "-p", str(p),
                               "-X", "broker.address.family=v4"],
                              input=lines.encode(), capture_output=True, timeout=DEADLINE_S)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return {(p, o) for p in range(PARTITIONS) for o in range(start, start + per_partition)}


class KcatMember:
    """``kcat -G group topic`` printing ``partition:offset`` lines; its stderr
    reports each rebalance ("assigned: t [0], t [1]" / "revoked: ...")."""

    def __init__(self, boot: str, group: str, topic: str, *extra: str):
        self.topic = topic
        # auto.offset.reset, not "-o beginning": with -G, kcat applies -o to
        # every assigned partition, overriding the group's committed offsets.
        self.cmd = [KCAT, "-b", boot, "-G", group, "-X", "auto.offset.reset=earliest", "-u",
                    "-f", "%p:%o\n", *GROUP_ARGS, *extra, topic]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        self.lock = threading.Lock()
        self.received: list[tuple[int, int]] = []
        self.assignment: frozenset[int] = frozenset()
        self.stderr: list[str] = []
        self._threads = [threading.Thread(target=self._out, daemon=True),
                         threading.Thread(target=self._err, daemon=True)]
        for t in self._threads:
            t.start()

    def _out(self):
        for line in self.proc.stdout:
            p, o = line.strip().split(":")
            with self.lock:
                self.received.append((int(p), int(o)))

    def _err(self):
        pat = re.compile(rf"{re.escape(self.topic)} \[(\d+)\]")
        for line in self.proc.stderr:
            with self.lock:
                self.stderr.append(line)
                parts = frozenset(int(p) for p in pat.findall(line))
                if "rebalanced" in line and "assigned:" in line:
                    self.assignment = parts
                elif "rebalanced" in line and "revoked:" in line:
                    self.assignment = frozenset()

    def snapshot(self):
        with self.lock:
            return list(self.received), self.assignment

    def wait(self, timeout: float = DEADLINE_S) -> int:
        code = self.proc.wait(timeout)
        for t in self._threads:
            t.join(10)
        return code

    def terminate(self) -> int:
        """SIGTERM: kcat closes the consumer (leaving the group and
        committing the offsets of what it printed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def describe(self) -> str:
        with self.lock:
            return f"{' '.join(self.cmd)}\nstderr:\n{''.join(self.stderr[-40:])}"


def test_two_balanced_kcats_split_a_topic_then_resume(flusso, topic):
    boot = flusso.bootstrap
    create_topic(boot, topic)
    group = f"{topic}-g"
    members = [KcatMember(boot, group, topic), KcatMember(boot, group, topic)]
    try:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            a, b = (m.snapshot()[1] for m in members)
            if len(a) == 2 and len(b) == 2 and not a & b:
                break
            time.sleep(0.1)
        a, b = (m.snapshot()[1] for m in members)
        assert len(a) == 2 and len(b) == 2 and not a & b, \
            "never balanced:\n" + "\n".join(m.describe() for m in members)

        expected = produce(boot, topic, 250)
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            got = Counter(k for m in members for k in m.snapshot()[0])
            if set(got) >= expected:
                break
            time.sleep(0.1)
        time.sleep(1.0)  # surplus lines would show up now
        got = Counter(k for m in members for k in m.snapshot()[0])
        assert set(got) == expected, \
            f"missing {sorted(expected - set(got))[:10]}, unexpected {sorted(set(got) - expected)[:10]}"
        assert max(got.values()) == 1, "a record was printed twice"
        for m in members:
            recs, parts = m.snapshot()
            assert {p for p, _ in recs} == set(parts), m.describe()

        for m in members:
            code = m.terminate()
            assert code == 0, f"kcat exited {code}\n{m.describe()}"
    finally:
        for m in members:
            m.kill()

    assert committed(boot, group) == {p: 250 for p in range(PARTITIONS)}

    # A third run of the group sees only what was produced since.
    more = produce(boot, topic, 10, start=250)
    third = KcatMember(boot, group, topic, "-e")
    try:
        code = third.wait()
        assert code == 0, f"kcat exited {code}\n{third.describe()}"
    finally:
        third.kill()
    recs, _ = third.snapshot()
    assert len(recs) == len(set(recs)), "duplicates"
    assert set(recs) == more, third.describe()
    assert committed(boot, group) == {p: 260 for p in range(PARTITIONS)}


def test_other_group_reads_everything(flusso, topic):
    boot = flusso.bootstrap
    create_topic(boot, topic)
    expected = produce(boot, topic, 25)
    for group in (f"{topic}-x", f"{topic}-y"):
        m = KcatMember(boot, group, topic, "-e")
        try:
            code = m.wait()
            assert code == 0, f"kcat exited {code}\n{m.describe()}"
        finally:
            m.kill()
        recs, _ = m.snapshot()
        assert len(recs) == len(set(recs)) and set(recs) == expected, m.describe()
