"""kafka-python against a real ``flusso server``.

No consumer groups here: every consumer uses ``group_id=None`` with assigned
partitions.
"""

from __future__ import annotations

import contextlib
import struct
import time
from collections import defaultdict
from json import dumps, loads

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as Errors
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.codec import has_gzip, has_lz4, has_snappy, has_zstd
from kafka.record.util import calc_crc32c

CONSUME_TIMEOUT_S = 60.0
FUTURE_TIMEOUT_S = 60.0


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

@contextlib.contextmanager
def producer(bootstrap: str, **kwargs):
    # kafka-python >= 3.0 defaults to enable_idempotence=True (InitProducerId +
    # sequence numbers). The idempotent path has dedicated tests (the seed
    # example and test_produce_acks[acksall-idempotent]); elsewhere it is off
    # so that each test exercises just its own feature.
    kwargs.setdefault("enable_idempotence", False)
    p = KafkaProducer(bootstrap_servers=[bootstrap], **kwargs)
    try:
        yield p
    finally:
        p.close(timeout=10)


@contextlib.contextmanager
def consumer(bootstrap: str, **kwargs):
    kwargs.setdefault("group_id", None)
    kwargs.setdefault("enable_auto_commit", False)
    kwargs.setdefault("auto_offset_reset", "earliest")
    c = KafkaConsumer(bootstrap_servers=[bootstrap], **kwargs)
    try:
        yield c
    finally:
        c.close()


@contextlib.contextmanager
def admin(bootstrap: str, **kwargs):
    a = KafkaAdminClient(bootstrap_servers=[bootstrap], **kwargs)
    try:
        yield a
    finally:
        a.close()


def poll_until(c: KafkaConsumer, expected: int, timeout_s: float = CONSUME_TIMEOUT_S,
               drain: bool = True) -> list:
    """Poll until ``expected`` records arrived (or timeout); then poll once
    more briefly so that duplicates / surplus records are noticed too."""
    records: list = []
    deadline = time.monotonic() + timeout_s
    while len(records) < expected and time.monotonic() < deadline:
        batch = c.poll(timeout_ms=500)
        for tp in sorted(batch):
            records.extend(batch[tp])
    if drain and len(records) >= expected:
        batch = c.poll(timeout_ms=300)
        for tp in sorted(batch):
            records.extend(batch[tp])
    return records


def consume(bootstrap: str, tps: list[TopicPartition], expected: int,
            start: int | None = None, **kwargs) -> list:
    """Assign ``tps``, seek to beginning (or ``start``), read ``expected``."""
    with consumer(bootstrap, **kwargs) as c:
        c.assign(tps)
        if start is None:
            c.seek_to_beginning(*tps)
        else:
            for tp in tps:
                c.seek(tp, start)
        return poll_until(c, expected)


def wait_all(p: KafkaProducer, futures) -> list:
    """Flush and return every send's RecordMetadata (raises on any error)."""
    p.flush(timeout=FUTURE_TIMEOUT_S)
    return [f.get(timeout=FUTURE_TIMEOUT_S) for f in futures]


def segment_batches(path) -> list[dict]:
    """Parse a Kafka-style segment file: a sequence of v2 record batches.

    Checks each batch's magic and CRC-32C and that the batches tile the file
    exactly; returns their headers.
    """
    data = memoryview(path.read_bytes())
    batches, pos = [], 0
    while pos < len(data):
        assert len(data) - pos >= 61, f"{path}: truncated batch header at byte {pos}"
        base_offset, batch_len = struct.unpack_from(">qi", data, pos)
        end = pos + 12 + batch_len
        assert end <= len(data), f"{path}: batch at byte {pos} runs past end of file"
        magic = data[pos + 16]
        assert magic == 2, f"{path}: batch at byte {pos} has magic {magic}"
        (crc,) = struct.unpack_from(">I", data, pos + 17)
        assert calc_crc32c(data[pos + 21:end]) == crc, f"{path}: CRC mismatch at byte {pos}"
        attributes, last_delta = struct.unpack_from(">hi", data, pos + 21)
        (count,) = struct.unpack_from(">i", data, pos + 57)
        batches.append({"base_offset": base_offset, "last_offset_delta": last_delta,
                        "codec": attributes & 0x7, "count": count})
        pos = end
    return batches


def by_partition(records) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for r in records:
        out[r.partition].append(r)
    return dict(out)


def create_topic(bootstrap: str, name: str, partitions: int, configs: dict | None = None):
    with admin(bootstrap) as a:
        a.create_topics({name: {"num_partitions": partitions, "replication_factor": 1,
                                "configs": configs or {}}})
        a.wait_for_topics([name], timeout_ms=30000)


def topic_names(bootstrap: str) -> set[str]:
    with admin(bootstrap) as a:
        return set(a.list_topics())


# --------------------------------------------------------------------------
# the seed example
# --------------------------------------------------------------------------

def test_seed_producer_example_numtest(flusso):
    # The seed brief's producer example, verbatim apart from the sleep(5)
    # (and the bootstrap address, which points at the test server).
    producer = KafkaProducer(bootstrap_servers=[flusso.bootstrap],
                             value_serializer=lambda x: dumps(x).encode('utf-8'))
    try:
        for e in range(1000):
            data = {'number': e}
            producer.send('numtest', value=data)
        producer.flush()
    finally:
        producer.close(timeout=10)

    consumer = KafkaConsumer(bootstrap_servers=[flusso.bootstrap],
                             group_id=None,
                             enable_auto_commit=False,
                             auto_offset_reset='earliest',
                             value_deserializer=lambda x: loads(x.decode('utf-8')))
    try:
        tp = TopicPartition('numtest', 0)
        # The example ignores send() futures, so a failed produce only shows in
        # the captured kafka-python log; check the end offset first.
        assert consumer.end_offsets([tp]) == {tp: 1000}, \
            "the producer example did not write 1000 records (see captured log)"
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        records = poll_until(consumer, 1000)
        assert len(records) == 1000, f"got {len(records)} of 1000 records"
        assert [r.value for r in records] == [{'number': e} for e in range(1000)]
        assert [r.offset for r in records] == list(range(1000))
        assert all(r.topic == 'numtest' and r.partition == 0 for r in records)
    finally:
        consumer.close()


# --------------------------------------------------------------------------
# produce / consume
# --------------------------------------------------------------------------

@pytest.mark.parametrize("acks,idempotent", [
    (0, False),
    (1, False),
    ("all", False),
    ("all", True),
], ids=["acks0", "acks1", "acksall", "acksall-idempotent"])
def test_produce_acks(flusso, topic, acks, idempotent):
    n = 200
    with producer(flusso.bootstrap, acks=acks, enable_idempotence=idempotent) as p:
        futures = [p.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
                   for i in range(n)]
        metas = wait_all(p, futures)
    if acks != 0:
        # The broker reports the assigned offsets; one partition, fresh topic.
        assert [m.offset for m in metas] == list(range(n))
        assert all(m.partition == 0 for m in metas)

    tp = TopicPartition(topic, 0)
    records = consume(flusso.bootstrap, [tp], n)
    assert [(r.offset, r.key, r.value) for r in records] == \
        [(i, f"k{i}".encode(), f"v{i}".encode()) for i in range(n)]


def test_keys_nulls_headers_timestamps(flusso, topic):
    base_ts = 1_700_000_000_000
    sent = [
        # (key, value, headers)
        (b"k1", b"v1", []),
        (None, b"no-key", []),
        (b"tombstone", None, []),
        (b"", b"", []),
        (b"h", b"with-headers", [("h1", b"x"), ("h2", b""), ("h1", b"dup-name"),
                                 ("utf8-\u00e9", "\u00fc".encode())]),
        (b"bin\x00\xff", bytes(range(256)), [("bin", b"\x00\x01\xff")]),
        (b"big", b"x" * 200_000, []),
    ]
    with producer(flusso.bootstrap, max_request_size=1_048_576) as p:
        futures = [p.send(topic, key=k, value=v, headers=h, timestamp_ms=base_ts + i)
                   for i, (k, v, h) in enumerate(sent)]
        metas = wait_all(p, futures)
    assert [m.offset for m in metas] == list(range(len(sent)))

    records = consume(flusso.bootstrap, [TopicPartition(topic, 0)], len(sent))
    got = [(r.key, r.value, list(r.headers)) for r in records]
    assert got == [(k, v, h) for k, v, h in sent]
    assert [r.timestamp for r in records] == [base_ts + i for i in range(len(sent))]
    assert all(r.timestamp_type == 0 for r in records), "expected CreateTime timestamps"


CODECS = [
    pytest.param(name, marks=pytest.mark.skipif(not check(), reason=f"{name} codec library missing"))
    for name, check in [("gzip", has_gzip), ("snappy", has_snappy), ("lz4", has_lz4),
                        ("zstd", has_zstd)]
]


@pytest.mark.parametrize("codec", CODECS)
def test_compression(flusso, topic, codec):
    n = 500
    values = [(f"{codec}-value-{i}-" + "abc" * (i % 50)).encode() for i in range(n)]
    with producer(flusso.bootstrap, compression_type=codec, linger_ms=20,
                  batch_size=64 * 1024) as p:
        futures = [p.send(topic, key=str(i).encode(), value=v) for i, v in enumerate(values)]
        metas = wait_all(p, futures)
    assert [m.offset for m in metas] == list(range(n))

    records = consume(flusso.bootstrap, [TopicPartition(topic, 0)], n)
    assert [(r.offset, r.key, r.value) for r in records] == \
        [(i, str(i).encode(), v) for i, v in enumerate(values)]

    # Reading from the middle of a compressed batch starts at the requested offset.
    mid = consume(flusso.bootstrap, [TopicPartition(topic, 0)], n - 123, start=123)
    assert [r.offset for r in mid] == list(range(123, n))


def test_multi_partition_keyed_produce(flusso, topic):
    create_topic(flusso.bootstrap, topic, 3)
    n = 300
    with producer(flusso.bootstrap) as p:
        futures = [p.send(topic, key=f"key-{i % 17}".encode(), value=str(i).encode())
                   for i in range(n)]
        metas = wait_all(p, futures)
        assert p.partitions_for(topic) == {0, 1, 2}

    # Same key -> same partition; offsets dense per partition.
    key_part: dict[str, int] = {}
    for i, m in enumerate(metas):
        assert key_part.setdefault(f"key-{i % 17}", m.partition) == m.partition
    per_part_offsets = defaultdict(list)
    for m in metas:
        per_part_offsets[m.partition].append(m.offset)
    for part, offs in per_part_offsets.items():
        assert offs == list(range(len(offs))), f"partition {part} offsets not dense"
    assert len(per_part_offsets) >= 2, "17 distinct keys all hashed to one partition?"

    tps = [TopicPartition(topic, i) for i in range(3)]
    records = consume(flusso.bootstrap, tps, n)
    assert len(records) == n
    got = by_partition(records)
    for part, recs in got.items():
        sent_here = [i for i, m in enumerate(metas) if m.partition == part]
        assert [int(r.value) for r in recs] == sent_here
        assert [r.offset for r in recs] == list(range(len(sent_here)))

    with consumer(flusso.bootstrap) as c:
        assert c.partitions_for_topic(topic) == {0, 1, 2}
        ends = c.end_offsets(tps)
    assert ends == {tp: len(per_part_offsets.get(tp.partition, [])) for tp in tps}


def test_explicit_partition_produce(flusso, topic):
    create_topic(flusso.bootstrap, topic, 3)
    with producer(flusso.bootstrap) as p:
        wait_all(p, [p.send(topic, value=f"p{part}".encode(), partition=part)
                     for part in (2, 0, 2, 1, 2)])
    tps = [TopicPartition(topic, i) for i in range(3)]
    got = by_partition(consume(flusso.bootstrap, tps, 5))
    assert {p: [r.value for r in recs] for p, recs in got.items()} == {
        0: [b"p0"], 1: [b"p1"], 2: [b"p2", b"p2", b"p2"]}


def test_auto_created_topic_uses_default_partitions(flusso, topic):
    with consumer(flusso.bootstrap) as c:
        # Metadata with allow_auto_topic_creation (producer default) creates it.
        with producer(flusso.bootstrap) as p:
            p.send(topic, b"hello").get(timeout=FUTURE_TIMEOUT_S)
        assert c.partitions_for_topic(topic) == {0}
    assert topic in topic_names(flusso.bootstrap)


# --------------------------------------------------------------------------
# admin
# --------------------------------------------------------------------------

def test_admin_create_describe_delete(flusso, topic):
    with admin(flusso.bootstrap) as a:
        result = a.create_topics({topic: {"num_partitions": 3, "replication_factor": 1,
                                          "configs": {"retention.ms": "3600000"}}})
        created = {t["name"]: t for t in result["topics"]}
        assert created[topic]["error_code"] == 0
        a.wait_for_topics([topic], timeout_ms=30000)

        assert topic in a.list_topics()

        [desc] = a.describe_topics([topic])
        assert desc["name"] == topic
        assert desc["error_code"] == 0
        assert desc["is_internal"] is False
        parts = sorted(desc["partitions"], key=lambda p: p["partition_index"])
        assert [p["partition_index"] for p in parts] == [0, 1, 2]
        cluster = a.describe_cluster()
        broker_ids = {b["broker_id"] for b in cluster["brokers"]}
        assert len(broker_ids) == 1
        for p in parts:
            assert p["error_code"] == 0
            assert p["leader_id"] in broker_ids
            assert p["replica_nodes"] == [p["leader_id"]]
            assert p["isr_nodes"] == [p["leader_id"]]

        # describe_configs: the explicitly set value, reported as a topic override.
        res = ConfigResource(ConfigResourceType.TOPIC, topic)
        all_cfg = a.describe_configs([res], config_filter="all")["topic"][topic]
        assert all_cfg["retention.ms"]["value"] == "3600000"
        assert all_cfg["retention.ms"]["read_only"] is False
        modified = a.describe_configs([res])["topic"][topic]
        assert "retention.ms" in modified, \
            f"retention.ms not reported as a modified (DYNAMIC_TOPIC_CONFIG) config: {all_cfg['retention.ms']}"
        assert modified["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
        # Restricting to named keys returns just those keys.
        only = a.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs=["retention.ms"])],
            config_filter="all")["topic"][topic]
        assert set(only) == {"retention.ms"}

        # Creating it again fails.
        with pytest.raises(Errors.TopicAlreadyExistsError):
            a.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}})

        result = a.delete_topics([topic])
        assert [t["error_code"] for t in result["topics"]] == [0]

        deadline = time.monotonic() + 30
        while topic in a.list_topics() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert topic not in a.list_topics()
        [gone] = a.describe_topics([topic])
        assert gone["error_code"] == Errors.UnknownTopicOrPartitionError.errno

        # Deleting a missing topic reports UNKNOWN_TOPIC_OR_PARTITION.
        with pytest.raises(Errors.UnknownTopicOrPartitionError):
            a.delete_topics([topic])


def test_admin_default_partitions_and_configs(flusso, topic):
    with admin(flusso.bootstrap) as a:
        a.create_topics({topic: {"num_partitions": 2, "replication_factor": 1}})
        a.wait_for_topics([topic], timeout_ms=30000)
        [desc] = a.describe_topics([topic])
        assert len(desc["partitions"]) == 2
        cfg = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)],
                                 config_filter="all")["topic"][topic]
        # A handful of standard topic configs should be described.
        for key in ("retention.ms", "cleanup.policy"):
            assert key in cfg, f"{key} missing from describe_configs: {sorted(cfg)}"
        # No overrides were set, so nothing is 'modified'.
        assert a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])["topic"][topic] == {}


@pytest.mark.parametrize("bad_name", ["bad name!", "..", "a" * 250, "tab\there"],
                         ids=["space-bang", "dotdot", "too-long", "tab"])
def test_admin_invalid_topic_name(flusso, bad_name):
    with admin(flusso.bootstrap) as a:
        with pytest.raises(Errors.InvalidTopicError):
            a.create_topics({bad_name: {"num_partitions": 1, "replication_factor": 1}})
        assert bad_name not in a.list_topics()


def test_admin_invalid_partition_count(flusso, topic):
    with admin(flusso.bootstrap) as a:
        with pytest.raises(Errors.InvalidPartitionsError):
            a.create_topics({topic: {"num_partitions": 0, "replication_factor": 1}})
        assert topic not in a.list_topics()


# --------------------------------------------------------------------------
# offsets
# --------------------------------------------------------------------------

def test_list_offsets(flusso, topic):
    create_topic(flusso.bootstrap, topic, 1)
    tp = TopicPartition(topic, 0)

    with consumer(flusso.bootstrap) as c:
        assert c.beginning_offsets([tp]) == {tp: 0}
        assert c.end_offsets([tp]) == {tp: 0}
        assert c.offsets_for_times({tp: 0}) == {tp: None}

    base_ts = 1_700_000_000_000
    n = 10
    with producer(flusso.bootstrap) as p:
        wait_all(p, [p.send(topic, value=str(i).encode(), timestamp_ms=base_ts + i * 1000)
                     for i in range(n)])

    with consumer(flusso.bootstrap) as c:
        assert c.beginning_offsets([tp]) == {tp: 0}
        assert c.end_offsets([tp]) == {tp: n}

        def lookup(ts):
            got = c.offsets_for_times({tp: ts})[tp]
            return None if got is None else (got.offset, got.timestamp)

        assert lookup(0) == (0, base_ts)
        assert lookup(base_ts) == (0, base_ts)
        assert lookup(base_ts + 3500) == (4, base_ts + 4000)
        assert lookup(base_ts + 4000) == (4, base_ts + 4000)
        assert lookup(base_ts + (n - 1) * 1000) == (n - 1, base_ts + (n - 1) * 1000)
        assert lookup(base_ts + n * 1000) is None

        # Seek to the looked-up offset and read from there.
        c.assign([tp])
        c.seek(tp, 4)
        records = poll_until(c, n - 4)
        assert [int(r.value) for r in records] == list(range(4, n))
        assert c.position(tp) == n
        assert c.highwater(tp) == n

        # seek_to_end / position
        c.seek_to_end(tp)
        assert c.position(tp) == n


def test_list_offsets_multi_partition(flusso, topic):
    create_topic(flusso.bootstrap, topic, 3)
    counts = {0: 5, 1: 0, 2: 7}
    with producer(flusso.bootstrap) as p:
        wait_all(p, [p.send(topic, value=b"x", partition=part)
                     for part, cnt in counts.items() for _ in range(cnt)])
    tps = [TopicPartition(topic, i) for i in range(3)]
    with consumer(flusso.bootstrap) as c:
        assert c.beginning_offsets(tps) == {tp: 0 for tp in tps}
        assert c.end_offsets(tps) == {tp: counts[tp.partition] for tp in tps}


def test_fetch_out_of_range_resets(flusso, topic):
    create_topic(flusso.bootstrap, topic, 1)
    tp = TopicPartition(topic, 0)
    with producer(flusso.bootstrap) as p:
        wait_all(p, [p.send(topic, value=str(i).encode()) for i in range(5)])
    # Seeking past the end -> OFFSET_OUT_OF_RANGE -> auto_offset_reset=earliest.
    with consumer(flusso.bootstrap, auto_offset_reset="earliest") as c:
        c.assign([tp])
        c.seek(tp, 1000)
        records = poll_until(c, 5)
        assert [int(r.value) for r in records] == list(range(5))


def test_consumer_sees_records_produced_while_polling(flusso, topic):
    create_topic(flusso.bootstrap, topic, 1)
    tp = TopicPartition(topic, 0)
    with consumer(flusso.bootstrap, fetch_max_wait_ms=200) as c:
        c.assign([tp])
        c.seek_to_beginning(tp)
        assert c.poll(timeout_ms=500) == {}
        with producer(flusso.bootstrap) as p:
            wait_all(p, [p.send(topic, value=str(i).encode()) for i in range(3)])
        records = poll_until(c, 3)
        assert [int(r.value) for r in records] == [0, 1, 2]


# --------------------------------------------------------------------------
# durability across a clean restart
# --------------------------------------------------------------------------

def test_durability_across_clean_restart(flusso_fresh):
    server = flusso_fresh
    topic = "durable"
    create_topic(server.bootstrap, topic, 2, configs={"retention.ms": "86400000"})
    tps = [TopicPartition(topic, i) for i in range(2)]

    n1 = 500
    with producer(server.bootstrap, compression_type="gzip") as p:
        futures = [p.send(topic, key=str(i).encode(), value=f"first-{i}".encode(),
                          partition=i % 2, headers=[("n", str(i).encode())])
                   for i in range(n1)]
        wait_all(p, futures)
    # One more produce into an auto-created topic.
    with producer(server.bootstrap) as p:
        p.send("durable-auto", value=b"auto-0").get(timeout=FUTURE_TIMEOUT_S)

    before = consume(server.bootstrap, tps, n1)
    assert len(before) == n1

    exit_code = server.stop()
    assert exit_code == 0, f"flusso exited with {exit_code} on SIGTERM"

    for part in range(2):
        seg = server.data_dir / f"{topic}-{part}" / "00000000000000000000.log"
        assert seg.is_file(), f"missing segment file {seg}"
        batches = segment_batches(seg)
        # Batches are contiguous from offset 0 and hold all records.
        next_offset = 0
        for b in batches:
            assert b["base_offset"] == next_offset, batches
            next_offset = b["base_offset"] + b["last_offset_delta"] + 1
        assert next_offset == n1 // 2
        assert sum(b["count"] for b in batches) == n1 // 2
    assert (server.data_dir / "durable-auto-0" / "00000000000000000000.log").is_file()

    server.start()

    with admin(server.bootstrap) as a:
        assert {topic, "durable-auto"} <= set(a.list_topics())
        [desc] = a.describe_topics([topic])
        assert len(desc["partitions"]) == 2
        cfg = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)],
                                 config_filter="all")["topic"][topic]
        assert cfg["retention.ms"]["value"] == "86400000"

    after = consume(server.bootstrap, tps, n1)
    key = lambda r: (r.partition, r.offset, r.key, r.value, list(r.headers), r.timestamp)
    assert [key(r) for r in after] == [key(r) for r in before]
    auto = consume(server.bootstrap, [TopicPartition("durable-auto", 0)], 1)
    assert [r.value for r in auto] == [b"auto-0"]

    with consumer(server.bootstrap) as c:
        ends = c.end_offsets(tps)
    assert ends == {tps[0]: n1 // 2, tps[1]: n1 // 2}

    # New data appends after the old, offsets continue.
    n2 = 100
    with producer(server.bootstrap) as p:
        futures = [p.send(topic, key=str(i).encode(), value=f"second-{i}".encode(),
                          partition=i % 2)
                   for i in range(n2)]
        metas = wait_all(p, futures)
    for part in range(2):
        offs = [m.offset for m in metas if m.partition == part]
        assert offs == list(range(n1 // 2, n1 // 2 + n2 // 2))

    everything = by_partition(consume(server.bootstrap, tps, n1 + n2))
    for part in range(2):
        recs = everything[part]
        assert [r.offset for r in recs] == list(range((n1 + n2) // 2))
        expected = [f"first-{i}".encode() for i in range(n1) if i % 2 == part] + \
                   [f"second-{i}".encode() for i in range(n2) if i % 2 == part]
        assert [r.value for r in recs] == expected

    # And once more: a second clean restart keeps everything.
    assert server.restart() == 0
    again = by_partition(consume(server.bootstrap, tps, n1 + n2))
    for part in range(2):
        assert [(r.offset, r.value) for r in again[part]] == \
            [(r.offset, r.value) for r in everything[part]]


def test_sigterm_exits_cleanly_while_clients_connected(flusso_fresh, topic):
    server = flusso_fresh
    tp = TopicPartition(topic, 0)
    with producer(server.bootstrap) as p:
        p.send(topic, value=b"x").get(timeout=FUTURE_TIMEOUT_S)
        with consumer(server.bootstrap) as c:
            c.assign([tp])
            c.seek_to_beginning(tp)
            assert len(poll_until(c, 1, drain=False)) == 1
            assert server.health()["isHealthy"] is True
            # Connections are still open while the server is told to stop.
            assert server.stop() == 0
            assert server.health(timeout=1) is None


def test_unclean_kill_keeps_acked_data(flusso_fresh, topic):
    """SIGKILL is no OS crash: every acknowledged record must survive it."""
    server = flusso_fresh
    tp = TopicPartition(topic, 0)
    n = 300
    with producer(server.bootstrap, acks="all", linger_ms=5) as p:
        metas = wait_all(p, [p.send(topic, key=str(i).encode(), value=f"v{i}".encode())
                             for i in range(n)])
    assert [m.offset for m in metas] == list(range(n))

    assert server.crash() == -9
    server.start()

    records = consume(server.bootstrap, [tp], n)
    assert [(r.offset, r.value) for r in records] == [(i, f"v{i}".encode()) for i in range(n)]
    with producer(server.bootstrap) as p:
        meta = p.send(topic, value=b"after").get(timeout=FUTURE_TIMEOUT_S)
    assert meta.offset == n


def test_torn_tail_is_truncated_on_recovery(flusso_fresh, topic):
    """A partial batch at the end of the active segment (torn write during an
    unclean stop) is dropped on restart; complete batches stay readable and
    new records continue right after them."""
    server = flusso_fresh
    tp = TopicPartition(topic, 0)
    n = 50
    with producer(server.bootstrap) as p:
        wait_all(p, [p.send(topic, value=f"v{i}".encode()) for i in range(n)])
    assert server.crash() == -9

    seg = server.data_dir / f"{topic}-0" / "00000000000000000000.log"
    good_size = seg.stat().st_size
    assert good_size > 0
    # Half a batch header: base offset n, a length that promises more bytes.
    with open(seg, "ab") as f:
        f.write(struct.pack(">qi", n, 500) + b"\x00\x00\x00\x00\x02\xde\xad")

    server.start()
    records = consume(server.bootstrap, [tp], n)
    assert [r.value for r in records] == [f"v{i}".encode() for i in range(n)]
    with consumer(server.bootstrap) as c:
        assert c.end_offsets([tp]) == {tp: n}
    with producer(server.bootstrap) as p:
        meta = p.send(topic, value=b"after").get(timeout=FUTURE_TIMEOUT_S)
    assert meta.offset == n

    assert server.stop() == 0
    batches = segment_batches(seg)  # the file is a clean sequence of batches again
    assert batches[-1]["base_offset"] + batches[-1]["last_offset_delta"] == n


def test_fetch_returns_batch_larger_than_fetch_limits(flusso, topic):
    """KIP-74: a fetch returns at least one whole batch even when it is larger
    than max_partition_fetch_bytes / fetch_max_bytes."""
    big = [bytes([65 + i]) * 300_000 for i in range(3)]
    with producer(flusso.bootstrap) as p:
        wait_all(p, [p.send(topic, value=v) for v in big])
    records = consume(flusso.bootstrap, [TopicPartition(topic, 0)], 3,
                      max_partition_fetch_bytes=1024, fetch_max_bytes=1024)
    assert [r.value for r in records] == big


def test_auto_create_disabled(flusso_factory, topic):
    server = flusso_factory(extra_args=["--auto-create-topics", "false"])
    with admin(server.bootstrap) as a:
        [desc] = a.describe_topics([topic])
        assert desc["error_code"] == Errors.UnknownTopicOrPartitionError.errno
    with producer(server.bootstrap, max_block_ms=3000) as p:
        with pytest.raises(Errors.KafkaTimeoutError):
            p.send(topic, b"x").get(timeout=FUTURE_TIMEOUT_S)
    with admin(server.bootstrap) as a:
        assert topic not in a.list_topics()
        # Explicit creation still works.
        a.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}})
        a.wait_for_topics([topic], timeout_ms=30000)
    with producer(server.bootstrap) as p:
        assert p.send(topic, b"x").get(timeout=FUTURE_TIMEOUT_S).offset == 0
