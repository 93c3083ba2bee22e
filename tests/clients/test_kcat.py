"""kcat (librdkafka) against a real ``flusso server``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
pytestmark = pytest.mark.skipif(
    KCAT is None, reason="kcat not found on PATH (apt-get install -y kcat)")

KCAT_TIMEOUT_S = 60


def kcat(*args: str, input: str | bytes | None = None, check: bool = True,
         timeout: float = KCAT_TIMEOUT_S) -> subprocess.CompletedProcess:
    data = input.encode() if isinstance(input, str) else input
    cmd = [KCAT, *args]
    proc = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout.decode(errors='replace')[-3000:]}\n"
            f"stderr:\n{proc.stderr.decode(errors='replace')[-3000:]}", pytrace=False)
    return proc


def produce(boot: str, topic: str, lines: str, *extra: str) -> subprocess.CompletedProcess:
    proc = kcat("-P", "-b", boot, "-t", topic, *extra, input=lines)
    err = proc.stderr.decode(errors="replace")
    assert "ERROR" not in err and "failed" not in err.lower(), err
    return proc


def consume(boot: str, topic: str, *extra: str, fmt: str | None = "%k:%s\n") -> str:
    args = ["-C", "-b", boot, "-t", topic, "-o", "beginning", "-e", "-q"]
    if fmt is not None:
        args += ["-f", fmt]
    return kcat(*args, *extra).stdout.decode()


def metadata_json(boot: str, topic: str | None = None) -> dict:
    args = ["-L", "-J", "-b", boot]
    if topic:
        args += ["-t", topic]
    return json.loads(kcat(*args).stdout.decode())


def create_topic(boot: str, topic: str, partitions: int) -> None:
    from kafka import KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers=[boot])
    try:
        a.create_topics({topic: {"num_partitions": partitions, "replication_factor": 1}})
        a.wait_for_topics([topic], timeout_ms=30000)
    finally:
        a.close()


# --------------------------------------------------------------------------

def test_metadata_list(flusso, topic):
    produce(flusso.bootstrap, topic, "hello\n")
    out = kcat("-L", "-b", flusso.bootstrap).stdout.decode()
    assert re.search(r"^ 1 brokers:$", out, re.M), out
    m = re.search(r"^\s+broker (-?\d+) at (\S+)", out, re.M)
    assert m, out
    broker_id, addr = m.group(1), m.group(2)
    assert addr == flusso.bootstrap
    assert f'topic "{topic}" with 1 partitions:' in out, out
    assert re.search(
        rf"partition 0, leader {broker_id}, replicas: {broker_id}, isrs: {broker_id}", out), out

    # Restricting to one topic lists only that topic.
    one = kcat("-L", "-b", flusso.bootstrap, "-t", topic).stdout.decode()
    assert re.search(r"^ 1 topics:$", one, re.M), one
    assert f'topic "{topic}" with 1 partitions:' in one


def test_metadata_json(flusso, topic):
    create_topic(flusso.bootstrap, topic, 3)
    md = metadata_json(flusso.bootstrap)
    assert len(md["brokers"]) == 1
    broker = md["brokers"][0]
    assert broker["name"] == flusso.bootstrap
    assert md["controllerid"] == broker["id"]
    topics = {t["topic"]: t for t in md["topics"]}
    assert topic in topics
    t = topics[topic]
    assert "error" not in t, t
    parts = sorted(t["partitions"], key=lambda p: p["partition"])
    assert [p["partition"] for p in parts] == [0, 1, 2]
    for p in parts:
        assert p["leader"] == broker["id"]
        assert [r["id"] for r in p["replicas"]] == [broker["id"]]
        assert [r["id"] for r in p["isrs"]] == [broker["id"]]

    # An unknown topic queried explicitly: kcat -L uses a producer handle, so
    # the broker may auto-create it (default partition count) or report an
    # error for it; either way the answer is about that one topic.
    md = metadata_json(flusso.bootstrap, topic + "-other")
    [other] = md["topics"]
    assert other["topic"] == topic + "-other"
    if "error" not in other:
        assert [p["partition"] for p in other["partitions"]] == [0], other


def test_produce_consume_lines(flusso, topic):
    lines = [f"line {i}" for i in range(50)]
    produce(flusso.bootstrap, topic, "\n".join(lines) + "\n")
    out = consume(flusso.bootstrap, topic, fmt="%k:%s\n")
    assert out == "".join(f":{line}\n" for line in lines)
    # Offsets are dense from 0.
    offs = consume(flusso.bootstrap, topic, fmt="%p/%o\n")
    assert offs == "".join(f"0/{i}\n" for i in range(50))


def test_produce_consume_keys(flusso, topic):
    data = "k1:v1\nk2:v2\nk1:v3\nkey with spaces:value: with colon\n"
    produce(flusso.bootstrap, topic, data, "-K:")
    out = consume(flusso.bootstrap, topic, fmt="%k:%s\n")
    assert out == data
    # -K on the consumer side prints key<delim>value too.
    out = consume(flusso.bootstrap, topic, "-K", "=", fmt=None)
    assert out == "k1=v1\nk2=v2\nk1=v3\nkey with spaces=value: with colon\n"


def test_null_values_and_lengths(flusso, topic):
    # -Z: empty values are sent as NULL (tombstones).
    produce(flusso.bootstrap, topic, "k1:v1\nk2:\n", "-K:", "-Z")
    out = consume(flusso.bootstrap, topic, "-Z", fmt="%k|%s|%K|%S\n")
    assert out == "k1|v1|2|2\nk2|NULL|2|-1\n"
    # Without -K the key is NULL (length -1).
    produce(flusso.bootstrap, topic, "plain\n")
    out = consume(flusso.bootstrap, topic, "-Z", "-o", "2", fmt="%k|%s|%K|%S\n")
    assert out == "NULL|plain|-1|5\n"
    # An empty (non-NULL) value: -K: without -Z keeps it as a zero-length value.
    produce(flusso.bootstrap, topic, "k3:\n", "-K:")
    out = consume(flusso.bootstrap, topic, "-o", "3", fmt="%k|%s|%K|%S\n")
    assert out == "k3||2|0\n"


def test_headers(flusso, topic):
    produce(flusso.bootstrap, topic, "payload\n", "-H", "a=1", "-H", "b=two", "-H", "a=3")
    assert consume(flusso.bootstrap, topic, fmt="%h|%s\n") == "a=1,b=two,a=3|payload\n"


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression(flusso, topic, codec):
    lines = [f"{codec} message {i} " + "x" * (i % 40) for i in range(300)]
    data = "".join(f"k{i}:{line}\n" for i, line in enumerate(lines))
    produce(flusso.bootstrap, topic, data, "-K:", "-z", codec, "-X", "linger.ms=50")
    out = consume(flusso.bootstrap, topic, fmt="%k:%s\n")
    assert out == data
    # Start in the middle of a (compressed) batch.
    tail = consume(flusso.bootstrap, topic, "-o", "150", fmt="%o:%s\n")
    assert tail == "".join(f"{i}:{lines[i]}\n" for i in range(150, 300))


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_used_on_the_wire(flusso, topic, codec):
    """librdkafka silently falls back to uncompressed batches when it thinks
    the broker can't take the codec (it decides from ApiVersions). Check from
    its debug log that the batches really went out compressed.

    Known triggers in librdkafka < 2.11.1 (Debian 12 ships 2.0.2): gzip, snappy
    and lz4 are dropped unless ApiVersions advertises Produce from v0 (it checks
    "is Produce v0..0 supported?"), and lz4 also needs FindCoordinator v0
    advertised (its "LZ4" feature flag)."""
    data = "".join(f"k{i}:{codec} message {i} " + "x" * (i % 40) + "\n" for i in range(300))
    # Create the topic first (a Metadata request auto-creates it), so the produce below never
    # races the creation and needs no retry, which would show twice in the debug log.
    kcat("-L", "-b", flusso.bootstrap, "-t", topic)
    proc = kcat("-P", "-b", flusso.bootstrap, "-t", topic, "-K:", "-z", codec,
                "-X", "linger.ms=50", "-d", "msg", input=data)
    err = proc.stderr.decode(errors="replace")
    sent = re.findall(r"Produce MessageSet with (\d+) message\(s\) \(.*, (\w+)\)$", err, re.M)
    assert sent, err[-3000:]
    assert sum(int(n) for n, _ in sent) == 300
    downgrade = [line for line in err.splitlines() if "does not support compression" in line]
    assert not downgrade and {c for _, c in sent} == {codec}, (
        f"librdkafka sent {sorted({c for _, c in sent})} batches instead of {codec}: "
        f"{downgrade[:1]}")
    assert consume(flusso.bootstrap, topic, fmt="%k:%s\n") == data


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_consume_batches_compressed_by_kafka_python(flusso, topic, codec):
    from kafka import KafkaProducer
    from kafka.codec import has_lz4, has_snappy, has_zstd
    if not {"gzip": True, "snappy": has_snappy(), "lz4": has_lz4(), "zstd": has_zstd()}[codec]:
        pytest.skip(f"kafka-python lacks the {codec} codec library")
    p = KafkaProducer(bootstrap_servers=[flusso.bootstrap], compression_type=codec,
                      enable_idempotence=False, linger_ms=20)
    try:
        futures = [p.send(topic, key=f"k{i}".encode(), value=f"{codec}-{i}".encode() * 5)
                   for i in range(200)]
        p.flush(timeout=60)
        for f in futures:
            f.get(timeout=60)
    finally:
        p.close(timeout=10)
    out = consume(flusso.bootstrap, topic, fmt="%o %k:%s\n")
    assert out == "".join(f"{i} k{i}:{f'{codec}-{i}' * 5}\n" for i in range(200))


def test_consume_json(flusso, topic):
    produce(flusso.bootstrap, topic, "k1:v1\nk2:v2\n", "-K:", "-H", "h=x")
    out = consume(flusso.bootstrap, topic, "-J", fmt=None)
    msgs = [json.loads(line) for line in out.splitlines()]
    assert [(m["topic"], m["partition"], m["offset"], m["key"], m["payload"]) for m in msgs] == [
        (topic, 0, 0, "k1", "v1"), (topic, 0, 1, "k2", "v2")]
    for m in msgs:
        assert m["tstype"] == "create"
        assert m["ts"] > 0
        assert m["headers"] == ["h", "x"]


def test_offsets_and_counts(flusso, topic):
    produce(flusso.bootstrap, topic, "".join(f"{i}\n" for i in range(10)))
    b = flusso.bootstrap
    assert consume(b, topic, "-o", "7", fmt="%o=%s\n") == "7=7\n8=8\n9=9\n"
    assert consume(b, topic, "-o", "-3", fmt="%s\n") == "7\n8\n9\n"  # relative to end
    out = kcat("-C", "-b", b, "-t", topic, "-o", "beginning", "-c", "2", "-q", "-f", "%s\n")
    assert out.stdout.decode() == "0\n1\n"
    # Offset queries (ListOffsets): -1 = end, -2 = beginning.
    q = kcat("-Q", "-b", b, "-t", f"{topic}:0:-1").stdout.decode()
    assert re.search(rf"{re.escape(topic)} \[0\] offset 10\b", q), q
    q = kcat("-Q", "-b", b, "-t", f"{topic}:0:-2").stdout.decode()
    assert re.search(rf"{re.escape(topic)} \[0\] offset 0\b", q), q


def test_offsets_for_times(flusso, topic):
    produce(flusso.bootstrap, topic, "a\nb\nc\n")
    b = flusso.bootstrap
    ts = [int(x) for x in consume(b, topic, fmt="%T\n").split()]
    assert len(ts) == 3 and ts == sorted(ts) and ts[0] > 0
    q = kcat("-Q", "-b", b, "-t", f"{topic}:0:{ts[0]}").stdout.decode()
    assert re.search(r"\[0\] offset 0\b", q), q
    q = kcat("-Q", "-b", b, "-t", f"{topic}:0:{ts[-1] + 60_000}").stdout.decode()
    # No record that late: ListOffsets answers offset -1.
    assert re.search(r"\[0\] offset -1\b", q), q


def test_partitions(flusso, topic):
    create_topic(flusso.bootstrap, topic, 3)
    b = flusso.bootstrap
    produce(b, topic, "p2-a\np2-b\n", "-p", "2")
    produce(b, topic, "p0-a\n", "-p", "0")
    assert consume(b, topic, "-p", "2", fmt="%p:%o:%s\n") == "2:0:p2-a\n2:1:p2-b\n"
    assert consume(b, topic, "-p", "1", fmt="%p:%o:%s\n") == ""
    everything = consume(b, topic, fmt="%p:%o:%s\n").splitlines()
    assert sorted(everything) == ["0:0:p0-a", "2:0:p2-a", "2:1:p2-b"]
    # Keyed produce with the default partitioner spreads across partitions,
    # and the same key always lands in the same partition.
    data = "".join(f"key{i % 10}:v{i}\n" for i in range(100))
    produce(b, topic, data, "-K:")
    seen: dict[str, set] = {}
    for line in consume(b, topic, fmt="%k %p\n").splitlines():
        k, p = line.split(" ")
        if k:
            seen.setdefault(k, set()).add(p)
    assert len(seen) == 10 and all(len(v) == 1 for v in seen.values()), seen
    assert len({p for v in seen.values() for p in v}) >= 2, seen


def test_large_message(flusso, topic):
    big = "y" * 500_000
    produce(flusso.bootstrap, topic, big + "\n")
    out = consume(flusso.bootstrap, topic, fmt="%S\n")
    assert out == "500000\n"
