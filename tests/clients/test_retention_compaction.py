"""Retention, DeleteRecords and log compaction, seen by a kafka-python user.

The server runs with short retention and cleaner intervals so that the background work happens
while the test polls for its effect.
"""

from __future__ import annotations

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka import errors as Errors

FAST = ["--retention-check-interval", "200ms", "--cleaner-interval", "200ms"]
DEADLINE_S = 60.0


@pytest.fixture
def server(flusso_factory):
    return flusso_factory(extra_args=FAST)


def create(bootstrap: str, name: str, configs: dict[str, str], partitions: int = 1) -> None:
    admin = KafkaAdminClient(bootstrap_servers=[bootstrap])
    try:
        admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])
    finally:
        admin.close()


def read_all(bootstrap: str, topic: str) -> list:
    """Every record from the beginning of partition 0, up to the current end."""
    c = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False,
                      consumer_timeout_ms=1500, fetch_max_bytes=8 << 20)
    try:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        end = c.end_offsets([tp])[tp]
        out = []
        deadline = time.monotonic() + DEADLINE_S
        while c.position(tp) < end and time.monotonic() < deadline:
            for records in c.poll(timeout_ms=500).values():
                out.extend(records)
        return out
    finally:
        c.close()


def offsets(bootstrap: str, topic: str) -> tuple[int, int]:
    c = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        return c.beginning_offsets([tp])[tp], c.end_offsets([tp])[tp]
    finally:
        c.close()


def wait_for(predicate, what: str):
    deadline = time.monotonic() + DEADLINE_S
    last = None
    while time.monotonic() < deadline:
        ok, last = predicate()
        if ok:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last}")


def produce(bootstrap: str, topic: str, records, batch_size: int = 256 * 1024) -> None:
    p = KafkaProducer(bootstrap_servers=[bootstrap], linger_ms=20, batch_size=batch_size,
                      max_in_flight_requests_per_connection=5)
    try:
        futures = [p.send(topic, key=k, value=v, timestamp_ms=ts) for k, v, ts in records]
        p.flush(timeout=120)
        for f in futures:
            f.get(timeout=60)
    finally:
        p.close(timeout=10)


def test_compaction_keeps_latest_value_per_key(server, topic):
    create(server.bootstrap, topic, {
        "cleanup.policy": "compact",
        "segment.bytes": str(256 * 1024),
        # An idle active segment is closed after this long, so the whole log gets compacted.
        "segment.ms": "2000",
        "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": "1000",
    })
    n, keys = 100_000, 1_000
    produce(server.bootstrap, topic,
            ((f"key-{i % keys}".encode(), f"value-{i}".encode(), None) for i in range(n)))
    assert offsets(server.bootstrap, topic) == (0, n)

    def compacted():
        recs = read_all(server.bootstrap, topic)
        return len(recs) == keys, len(recs)
    wait_for(compacted, "the topic to be compacted to one record per key")
    recs = read_all(server.bootstrap, topic)
    assert [r.offset for r in recs] == sorted(r.offset for r in recs)
    latest = {r.key: r.value for r in recs}
    assert len(latest) == keys
    for k in range(keys):
        # the last write of key k was i = n - keys + k
        assert latest[f"key-{k}".encode()] == f"value-{n - keys + k}".encode()
    # Offsets are kept: the end offset does not move and the last record is still n - 1.
    assert offsets(server.bootstrap, topic)[1] == n
    assert recs[-1].offset == n - 1

    # Tombstones for 100 keys, then enough other writes to roll their segment: once
    # delete.retention.ms has passed the tombstoned keys vanish altogether, and every other key
    # keeps its latest value.
    produce(server.bootstrap, topic, ((f"key-{k}".encode(), None, None) for k in range(100)))
    filler = 20_000
    produce(server.bootstrap, topic,
            ((f"key-{100 + i % 900}".encode(), f"again-{i}".encode(), None) for i in range(filler)))

    def tombstones_gone():
        recs = read_all(server.bootstrap, topic)
        keys_left = {r.key for r in recs}
        dead = {f"key-{k}".encode() for k in range(100)}
        return not (keys_left & dead), (len(recs), sum(r.value is None for r in recs))
    wait_for(tombstones_gone, "tombstoned keys to disappear")
    latest = {r.key: r.value for r in read_all(server.bootstrap, topic)}
    assert len(latest) == 900
    for j in range(900):
        last_i = max(i for i in range(filler - 900, filler) if i % 900 == j)
        assert latest[f"key-{100 + j}".encode()] == f"again-{last_i}".encode()


def test_compacted_topic_refuses_records_without_key(server, topic):
    create(server.bootstrap, topic, {"cleanup.policy": "compact"})
    p = KafkaProducer(bootstrap_servers=[server.bootstrap], retries=0)
    try:
        with pytest.raises(Errors.KafkaError) as err:
            p.send(topic, value=b"no key").get(timeout=30)
        assert "InvalidRecord" in type(err.value).__name__ or "CorruptRecord" in type(err.value).__name__
        p.send(topic, key=b"k", value=b"with key").get(timeout=30)
    finally:
        p.close(timeout=10)


def test_time_retention_deletes_old_segments(server, topic):
    create(server.bootstrap, topic, {"retention.ms": "60000", "segment.bytes": "16384"})
    old = int(time.time() * 1000) - 3_600_000
    produce(server.bootstrap, topic, ((None, b"x" * 500, old + i) for i in range(200)), batch_size=4096)
    produce(server.bootstrap, topic, ((None, b"fresh", None) for _ in range(10)))

    def moved():
        start, end = offsets(server.bootstrap, topic)
        return start >= 190, (start, end)
    start, end = wait_for(moved, "ListOffsets earliest to move past the expired segments")
    assert end == 210
    recs = read_all(server.bootstrap, topic)
    assert recs[0].offset == start and recs[-1].value == b"fresh"


def test_retention_minus_one_keeps_everything(server, topic):
    create(server.bootstrap, topic, {"retention.ms": "-1", "segment.bytes": "16384"})
    ancient = 1_000
    produce(server.bootstrap, topic, ((None, b"y" * 500, ancient + i) for i in range(100)), batch_size=4096)
    time.sleep(1.5)  # several retention checks run meanwhile
    assert offsets(server.bootstrap, topic) == (0, 100)
    assert len(read_all(server.bootstrap, topic)) == 100


def test_size_retention(server, topic):
    create(server.bootstrap, topic, {"retention.bytes": "40000", "retention.ms": "-1",
                                     "segment.bytes": "10000"})
    produce(server.bootstrap, topic, ((None, b"z" * 1000, None) for _ in range(200)), batch_size=4096)

    def trimmed():
        start, end = offsets(server.bootstrap, topic)
        return start > 100, (start, end)
    wait_for(trimmed, "size retention to delete old segments")


def test_delete_records(server, topic):
    create(server.bootstrap, topic, {"segment.bytes": "16384"})
    produce(server.bootstrap, topic, ((None, f"r{i}".encode(), None) for i in range(300)), batch_size=1024)
    admin = KafkaAdminClient(bootstrap_servers=[server.bootstrap])
    try:
        admin.delete_records({TopicPartition(topic, 0): 120})
    finally:
        admin.close()
    assert offsets(server.bootstrap, topic) == (120, 300)
    recs = read_all(server.bootstrap, topic)
    assert recs[0].offset == 120 and recs[0].value == b"r120"
    server.restart()
    assert offsets(server.bootstrap, topic) == (120, 300)
