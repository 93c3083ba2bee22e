"""Persistent queries survive server restarts while input keeps flowing.

A source stream over a 2-partition topic feeds ``CREATE STREAM evens AS SELECT ... WHERE
seq % 2 = 0``. A confluent-kafka producer thread (acks=all) writes records with an increasing
``seq`` while the server is stopped and started again several times:

* SIGKILL (``server.crash()``): at-least-once. Every acked record that passes the filter must
  reach the sink topic; duplicates are allowed.
* SIGTERM (``server.restart()``): the final offsets are committed on shutdown, so the sink topic
  must hold exactly one output per input record that passes the filter.

Both tests also check that the query is listed again after the last restart and that input
written after the last restart (by the producer and by ``INSERT INTO``) is processed.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest
from confluent_kafka import KafkaError, Producer
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

SOURCE_TOPIC = "readings"
SINK_TOPIC = "EVENS"
PARTITIONS = 2
TOTAL = 9000            # records the producer thread writes
RATE_PER_S = 1500       # pacing, so restarts happen while input flows
RESTARTS = 3
KEYS = 53
DEADLINE_S = 45.0
EARLIEST = {"auto.offset.reset": "earliest"}

CREATE_SOURCE = (
    f"CREATE STREAM readings (k VARCHAR KEY, seq BIGINT, tag VARCHAR) "
    f"WITH (kafka_topic='{SOURCE_TOPIC}', partitions={PARTITIONS}, value_format='JSON');"
)
CREATE_EVENS = (
    "CREATE STREAM evens AS SELECT k, seq, seq * 3 AS triple, UCASE(tag) AS tag "
    "FROM readings WHERE seq % 2 = 0;"
)


# -- helpers ----------------------------------------------------------------------------------

def ksql(server, statements: str, props: dict | None = None) -> list:
    """POST /ksql; returns the entity list, fails the test on an error response."""
    body = json.dumps({"ksql": statements, "streamsProperties": props or {}}).encode()
    req = urllib.request.Request(server.http + "/ksql", data=body,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        pytest.fail(f"/ksql {statements!r} -> HTTP {e.code}: {e.read().decode(errors='replace')}")


def key_of(seq: int) -> str:
    return f"key-{seq % KEYS}"


def tag_of(seq: int) -> str:
    return f"tag-{seq % 7}"


def expected_value(seq: int) -> dict:
    return {"SEQ": seq, "TRIPLE": seq * 3, "TAG": tag_of(seq).upper()}


def wait_until(pred, timeout: float, what: str, server=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    tail = f"\n{server.log_tail(40)}" if server is not None else ""
    pytest.fail(f"timed out after {timeout}s waiting for {what}{tail}")


class Feeder(threading.Thread):
    """Produces ``seq`` in [0, total) at a steady pace; remembers what was acked.

    librdkafka reconnects and retries by itself while the server is down. Idempotence is off
    (the server forgets producer state across SIGKILL), so a retried batch may land twice in the
    source topic; the tests compare the sink with what the source topic really holds.
    """

    def __init__(self, bootstrap: str, total: int, rate: int):
        super().__init__(daemon=True)
        self.total = total
        self.rate = rate
        self.lock = threading.Lock()
        self.acked: set[int] = set()
        self.failed: list[tuple[int, str]] = []
        self.produced = 0
        self.unflushed = -1
        self.stop_event = threading.Event()
        self.producer = Producer({
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": False,
            "linger.ms": 5,
            "message.timeout.ms": 60000,
            "request.timeout.ms": 10000,
            "retry.backoff.ms": 100,
            "retry.backoff.max.ms": 500,
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 500,
            "socket.connection.setup.timeout.ms": 5000,
            "topic.metadata.refresh.interval.ms": 2000,
            "log_level": 2,          # connection refused while the server is down is expected
            "log.connection.close": False,
        })

    def _on_delivery(self, err, msg) -> None:
        seq = json.loads(msg.value())["seq"]
        with self.lock:
            if err is None:
                self.acked.add(seq)
            else:
                self.failed.append((seq, str(err)))

    def acked_count(self) -> int:
        with self.lock:
            return len(self.acked)

    def run(self) -> None:
        start = time.monotonic()
        for seq in range(self.total):
            if self.stop_event.is_set():
                break
            value = json.dumps({"seq": seq, "tag": tag_of(seq)})
            while True:
                try:
                    self.producer.produce(SOURCE_TOPIC, key=key_of(seq), value=value,
                                          on_delivery=self._on_delivery)
                    break
                except BufferError:
                    self.producer.poll(0.05)
            self.produced = seq + 1
            self.producer.poll(0)
            ahead = (seq + 1) / self.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        self.unflushed = self.producer.flush(60)


def read_topic(bootstrap: str, topic: str) -> list:
    """Every record of every partition of ``topic``, up to the end offsets of now."""
    c = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False,
                      consumer_timeout_ms=1000, fetch_max_bytes=16 << 20)
    try:
        parts = c.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        ends = c.end_offsets(tps)
        out = []
        deadline = time.monotonic() + DEADLINE_S
        while any(c.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            for records in c.poll(timeout_ms=500).values():
                out.extend(records)
        return out
    finally:
        c.close()


class SinkReader:
    """Accumulates the sink topic's records across polls."""

    def __init__(self, bootstrap: str, topic: str):
        self.c = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False,
                               fetch_max_bytes=16 << 20)
        parts = None
        deadline = time.monotonic() + DEADLINE_S
        while not parts:
            assert time.monotonic() < deadline, f"sink topic {topic} never appeared"
            parts = self.c.partitions_for_topic(topic)
            if not parts:
                time.sleep(0.1)
        self.tps = [TopicPartition(topic, p) for p in sorted(parts)]
        self.c.assign(self.tps)
        self.c.seek_to_beginning(*self.tps)
        self.records: list = []

    def poll(self) -> list:
        for records in self.c.poll(timeout_ms=200).values():
            self.records.extend(records)
        return self.records

    def drain_to_end(self) -> list:
        ends = self.c.end_offsets(self.tps)
        deadline = time.monotonic() + DEADLINE_S
        while any(self.c.position(tp) < ends[tp] for tp in self.tps):
            assert time.monotonic() < deadline, "could not read the sink topic to its end"
            self.poll()
        return self.records

    def close(self) -> None:
        self.c.close()


def query_committed(bootstrap: str, query_id: str) -> dict:
    admin = KafkaAdminClient(bootstrap_servers=[bootstrap])
    try:
        group = f"_flusso_query_{query_id}"
        offsets = admin.list_group_offsets({group: None})[group]
        return {tp.partition: meta.offset for tp, meta in offsets.items()
                if tp.topic == SOURCE_TOPIC}
    finally:
        admin.close()


def source_ends(bootstrap: str) -> dict:
    c = KafkaConsumer(bootstrap_servers=[bootstrap])
    try:
        tps = [TopicPartition(SOURCE_TOPIC, p) for p in range(PARTITIONS)]
        return {tp.partition: off for tp, off in c.end_offsets(tps).items()}
    finally:
        c.close()


def show_queries(server) -> list[dict]:
    rows = []
    for entity in ksql(server, "SHOW QUERIES;"):
        rows.extend(entity.get("queries", []))
    return rows


# -- the scenario -----------------------------------------------------------------------------

def run_scenario(server, stop_server) -> dict:
    """Creates the query, feeds input across RESTARTS restarts, returns what was observed."""
    ksql(server, CREATE_SOURCE)
    created = ksql(server, CREATE_EVENS, EARLIEST)
    query_id = created[0]["commandStatus"]["queryId"]

    feeder = Feeder(server.bootstrap, TOTAL, RATE_PER_S)
    feeder.start()
    try:
        step = TOTAL // (RESTARTS + 2)
        for i in range(RESTARTS):
            wait_until(lambda: feeder.acked_count() >= (i + 1) * step, DEADLINE_S,
                       f"{(i + 1) * step} acked records before restart #{i + 1}", server)
            stop_server(server)
            server.start()
        produced_at_last_restart = feeder.produced
        feeder.join(timeout=DEADLINE_S + 60)
        assert not feeder.is_alive(), "producer thread did not finish"
    finally:
        feeder.stop_event.set()
    assert feeder.unflushed == 0, f"{feeder.unflushed} records never acked or failed"
    assert not feeder.failed, f"{len(feeder.failed)} records failed, e.g. {feeder.failed[:3]}"
    assert len(feeder.acked) == TOTAL
    assert produced_at_last_restart < TOTAL, "producer finished before the last restart"

    # The query is back after the last restart, under the same id.
    rows = show_queries(server)
    ids = [r.get("name") or r.get("id") for r in rows]
    assert query_id in ids, f"SHOW QUERIES after restart: {rows}"
    mine = [r for r in rows if (r.get("name") or r.get("id")) == query_id]
    assert [r.get("sinkKafkaTopics") for r in mine] == [[SINK_TOPIC]], rows
    assert mine[0].get("state") == "RUNNING", rows

    # New input through the engine itself, after the last restart.
    final_seq = TOTAL * 2
    ksql(server, f"INSERT INTO readings (k, seq, tag) VALUES ('{key_of(final_seq)}', "
                 f"{final_seq}, '{tag_of(final_seq)}');")

    expected = {s for s in feeder.acked if s % 2 == 0} | {final_seq}
    after_restart = {s for s in expected if s >= produced_at_last_restart}
    assert len(after_restart) > 100, "too little input after the last restart to check"

    # Wait until the sink holds every expected record (at least once).
    sink = SinkReader(server.bootstrap, SINK_TOPIC)
    try:
        def complete() -> bool:
            seen = {json.loads(r.value)["SEQ"] for r in sink.poll()}
            return expected <= seen
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline and not complete():
            pass
        # Then until the query has committed the whole source topic, so that nothing more can
        # come (a late duplicate would show up before this point), and read the sink to its end.
        ends = source_ends(server.bootstrap)
        committed = {}
        while time.monotonic() < deadline:
            committed = query_committed(server.bootstrap, query_id)
            if all(committed.get(p, -1) >= end for p, end in ends.items()):
                break
            time.sleep(0.2)
        records = sink.drain_to_end()
    finally:
        sink.close()

    return {
        "query_id": query_id,
        "expected": expected,
        "after_restart": after_restart,
        "acked": feeder.acked | {final_seq},
        "sink": records,
        "source": read_topic(server.bootstrap, SOURCE_TOPIC),
        "committed": committed,
        "source_ends": ends,
    }


def source_seq(record) -> int:
    """``seq`` of a source record: the producer writes ``seq``, INSERT INTO writes ``SEQ``."""
    value = json.loads(record.value)
    return value["seq"] if "seq" in value else value["SEQ"]


def check_common(seen: dict) -> Counter:
    """Assertions both tests share; returns the multiset of output seqs."""
    source_seqs = Counter(source_seq(r) for r in seen["source"])
    lost_by_log = seen["acked"] - set(source_seqs)
    assert not lost_by_log, f"log lost {len(lost_by_log)} acked records: {sorted(lost_by_log)[:10]}"

    out = Counter()
    for r in seen["sink"]:
        value = json.loads(r.value)
        seq = value["SEQ"]
        out[seq] += 1
        assert value == expected_value(seq), (r.key, value)
        assert r.key == key_of(seq).encode(), (r.key, value)
    spurious = set(out) - {s for s in source_seqs if s % 2 == 0}
    assert not spurious, f"output records without an input: {sorted(spurious)[:10]}"

    missing = seen["expected"] - set(out)
    assert not missing, (
        f"lost {len(missing)} of {len(seen['expected'])} expected records, e.g. "
        f"{sorted(missing)[:10]}; {len(seen['after_restart'] & missing)} of them written after "
        f"the last restart; committed {seen['committed']} of {seen['source_ends']}")
    assert seen["committed"] == seen["source_ends"], (
        f"query {seen['query_id']} committed {seen['committed']}, source ends {seen['source_ends']}")
    return out


def _sigkill(server) -> None:
    server.crash()


def _sigterm(server) -> None:
    code = server.stop()
    assert code == 0, f"server exited with {code} on SIGTERM"


def test_query_survives_sigkill(flusso_fresh):
    """At-least-once across SIGKILLs: no acked record that passes the filter is lost."""
    seen = run_scenario(flusso_fresh, _sigkill)
    out = check_common(seen)
    source_evens = Counter(s for s in map(source_seq, seen["source"]) if s % 2 == 0)
    dups = sum(n - 1 for n in out.values())
    extra = sum((out - source_evens).values())
    print(f"SIGKILL: {len(seen['expected'])} expected, {sum(out.values())} output, {dups} duplicates "
          f"({extra} beyond duplicate input), "
          f"{len(seen['source']) - len(seen['acked'])} duplicate input records")


def test_query_survives_sigterm(flusso_fresh):
    """Clean restarts: one output per input record that passes the filter, no duplicates."""
    seen = run_scenario(flusso_fresh, _sigterm)
    out = check_common(seen)
    source_evens = Counter(s for s in map(source_seq, seen["source"]) if s % 2 == 0)
    dups = {s: n for s, n in out.items() if n > source_evens[s]}
    assert not dups, (
        f"{len(dups)} records output more often than they were input, e.g. "
        f"{sorted(dups.items())[:10]}")
    assert out == source_evens
    print(f"SIGTERM: {len(seen['expected'])} expected, {sum(out.values())} output, "
          f"{len(seen['source']) - len(seen['acked'])} duplicate input records")
