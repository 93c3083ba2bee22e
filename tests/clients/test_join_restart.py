"""A running stream-stream join survives server restarts while input keeps flowing.

Two source streams, ``lefts`` and ``rights``, feed ``CREATE STREAM pairs AS SELECT ... FROM
lefts l JOIN rights r WITHIN 1 MINUTE ON l.k = r.k``. A confluent-kafka producer thread writes,
for every ``seq``, a left record keyed ``k<seq>`` and, LAG records later, the right record with
the same key (timestamps ``BASE_TS + n * 7`` ms, so every pair is within the window). Many
pairs therefore have their left record read before a restart and their right record after it:
the join finds the left record only if its window store came back from the changelog.

* SIGKILL: no loss; every pair whose two records were acked is in ``PAIRS`` (repeats allowed).
* SIGTERM: exactly one output per pair the source topics hold.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

from confluent_kafka import Producer

from test_engine_restart import EARLIEST, ksql, read_topic, show_queries, wait_until

TOTAL = 4000
LAG = 60
RATE_PER_S = 700
RESTARTS = 3
BASE_TS = 1_700_000_000_000
DEADLINE_S = 60.0

CREATE = [
    "CREATE STREAM lefts (k VARCHAR KEY, seq BIGINT) "
    "WITH (kafka_topic='lefts', partitions=2, value_format='JSON');",
    "CREATE STREAM rights (k VARCHAR KEY, seq BIGINT) "
    "WITH (kafka_topic='rights', partitions=1, value_format='JSON');",
]
CREATE_PAIRS = ("CREATE STREAM pairs AS SELECT l.k AS k, l.seq AS lseq, r.seq AS rseq "
                "FROM lefts l JOIN rights r WITHIN 1 MINUTE ON l.k = r.k;")


class PairFeeder(threading.Thread):
    """Left record of ``n``, then the right record of ``n - LAG``; remembers what was acked."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True)
        self.lock = threading.Lock()
        self.acked: set[tuple[str, int]] = set()
        self.failed: list[str] = []
        self.produced = 0
        self.unflushed = -1
        self.stop_event = threading.Event()
        self.producer = Producer({
            "bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": False,
            "linger.ms": 5, "message.timeout.ms": 60000, "request.timeout.ms": 10000,
            "retry.backoff.ms": 100, "retry.backoff.max.ms": 500,
            "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500,
            "topic.metadata.refresh.interval.ms": 2000, "log_level": 2,
            "log.connection.close": False,
        })

    def _on_delivery(self, err, msg) -> None:
        seq = json.loads(msg.value())["seq"]
        with self.lock:
            if err is None:
                self.acked.add((msg.topic(), seq))
            else:
                self.failed.append(str(err))

    def _send(self, topic: str, seq: int, n: int) -> None:
        while True:
            try:
                self.producer.produce(topic, key=f"k{seq}", value=json.dumps({"seq": seq}),
                                      timestamp=BASE_TS + n * 7, on_delivery=self._on_delivery)
                return
            except BufferError:
                self.producer.poll(0.05)

    def acked_count(self) -> int:
        with self.lock:
            return len(self.acked)

    def run(self) -> None:
        start = time.monotonic()
        for n in range(TOTAL + LAG):
            if self.stop_event.is_set():
                break
            if n < TOTAL:
                self._send("lefts", n, n)
            if n >= LAG:
                self._send("rights", n - LAG, n)
            self.produced = n
            self.producer.poll(0)
            ahead = n / RATE_PER_S - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        self.unflushed = self.producer.flush(DEADLINE_S)


def run_scenario(server, stop_server) -> dict:
    for sql in CREATE:
        ksql(server, sql)
    qid = ksql(server, CREATE_PAIRS, EARLIEST)[0]["commandStatus"]["queryId"]
    feeder = PairFeeder(server.bootstrap)
    feeder.start()
    try:
        step = 2 * TOTAL // (RESTARTS + 2)
        for i in range(RESTARTS):
            wait_until(lambda: feeder.acked_count() >= (i + 1) * step, DEADLINE_S,
                       f"{(i + 1) * step} acked records before restart #{i + 1}", server)
            stop_server(server)
            server.start()
        feeder.join(timeout=DEADLINE_S + 60)
        assert not feeder.is_alive(), "producer thread did not finish"
    finally:
        feeder.stop_event.set()
    assert feeder.unflushed == 0, f"{feeder.unflushed} records never acked"
    assert not feeder.failed, feeder.failed[:3]
    rows = show_queries(server)
    assert any((r.get("name") or r.get("id")) == qid and r.get("state") == "RUNNING"
               for r in rows), rows

    both = {s for (t, s) in feeder.acked if t == "lefts"} & {
        s for (t, s) in feeder.acked if t == "rights"}
    assert len(both) == TOTAL

    def pairs() -> Counter:
        out = Counter()
        for r in read_topic(server.bootstrap, "PAIRS"):
            v = json.loads(r.value)
            assert v["LSEQ"] == v["RSEQ"], v
            out[v["LSEQ"]] += 1
        return out

    seen: Counter = Counter()
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        seen = pairs()
        if both <= set(seen):
            break
        time.sleep(0.5)
    in_sources = [Counter(json.loads(r.value)["seq"] for r in read_topic(server.bootstrap, t))
                  for t in ("lefts", "rights")]
    return {"seen": seen, "both": both, "sources": in_sources}


def _sigkill(server) -> None:
    server.crash()


def _sigterm(server) -> None:
    assert server.stop() == 0


def test_stream_join_survives_sigkill(flusso_fresh):
    r = run_scenario(flusso_fresh, _sigkill)
    missing = sorted(r["both"] - set(r["seen"]))
    assert not missing, f"{len(missing)} pairs lost, e.g. {missing[:10]}"
    print(f"SIGKILL: {len(r['both'])} pairs, {sum(r['seen'].values())} outputs")


def test_stream_join_survives_sigterm(flusso_fresh):
    r = run_scenario(flusso_fresh, _sigterm)
    lefts, rights = r["sources"]
    # An uninterrupted join emits one row per (left copy, right copy) of a key.
    expected = {s: lefts[s] * rights[s] for s in lefts if rights.get(s)}
    wrong = {s: (expected.get(s), r["seen"].get(s)) for s in set(expected) | set(r["seen"])
             if expected.get(s) != r["seen"].get(s)}
    assert not wrong, f"{len(wrong)} pairs differ (expected, seen), e.g. {sorted(wrong.items())[:10]}"
