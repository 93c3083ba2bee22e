"""Aggregations survive server restarts while input keeps flowing.

A source stream over a 2-partition topic feeds two persistent aggregations:

* ``counts``: ``COUNT(*)`` per key in 10-second tumbling windows,
* ``totals``: ``COUNT(*)`` per key, unwindowed.

A confluent-kafka producer thread (acks=all) writes records with explicit timestamps
(``BASE_TS + seq * 7`` ms, so each record's window is known: ``ts - ts % 10000``) while the
server is stopped and started again several times. Afterwards the tables, read through pull
queries (``POST /query``), are compared with counts computed here from the records:

* SIGKILL (``server.crash()``): no loss. Every (key, window) of an acked record is present
  with a count >= the number of acked records in it; over-counting is allowed and printed.
* SIGTERM (``server.restart()``): the counts are exactly those of an uninterrupted run over
  what the source topic holds (the source may hold a record twice if the producer retried a
  batch the server had already written; an uninterrupted query would count it twice too).

Both tests also check that the queries are listed again after the last restart and that input
written after the last restart is counted.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest

from test_engine_restart import (EARLIEST, PARTITIONS, SOURCE_TOPIC, Feeder, ksql,
                                 read_topic, show_queries, wait_until)

TOTAL = 9000
RATE_PER_S = 1000       # 9 s of input: clean restarts plus reconnects take ~1.5 s each
RESTARTS = 3
KEYS = 23
WINDOW_MS = 10_000
BASE_TS = 1_700_000_000_000
DEADLINE_S = 60.0
SETTLE_S = 2.0          # the tables must stay unchanged this long to count as caught up

CREATE_SOURCE = (
    f"CREATE STREAM readings (k VARCHAR KEY, seq BIGINT, tag VARCHAR) "
    f"WITH (kafka_topic='{SOURCE_TOPIC}', partitions={PARTITIONS}, value_format='JSON');"
)
CREATE_COUNTS = ("CREATE TABLE counts AS SELECT k, COUNT(*) AS n FROM readings "
                 "WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k;")
CREATE_TOTALS = "CREATE TABLE totals AS SELECT k, COUNT(*) AS n FROM readings GROUP BY k;"


def key_of(seq: int) -> str:
    return f"key-{seq % KEYS}"


def ts_of(seq: int) -> int:
    return BASE_TS + seq * 7


def window_of(ts: int) -> int:
    return ts - ts % WINDOW_MS


class TimedFeeder(Feeder):
    """The engine-restart Feeder, with an explicit timestamp and this module's keys."""

    def run(self) -> None:
        start = time.monotonic()
        for seq in range(self.total):
            if self.stop_event.is_set():
                break
            value = json.dumps({"seq": seq, "tag": "t"})
            while True:
                try:
                    self.producer.produce(SOURCE_TOPIC, key=key_of(seq), value=value,
                                          timestamp=ts_of(seq), on_delivery=self._on_delivery)
                    break
                except BufferError:
                    self.producer.poll(0.05)
            self.produced = seq + 1
            self.producer.poll(0)
            ahead = (seq + 1) / self.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        self.unflushed = self.producer.flush(60)


def pull(server, sql: str) -> list[list]:
    """POST /query with a pull query; returns the rows' column lists."""
    body = json.dumps({"ksql": sql, "streamsProperties": {}}).encode()
    req = urllib.request.Request(server.http + "/query", data=body,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            items = json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        pytest.fail(f"/query {sql!r} -> HTTP {e.code}: {e.read().decode(errors='replace')}")
    rows = []
    for item in items:
        if "row" in item:
            rows.append(item["row"]["columns"])
        elif "errorMessage" in item or "@type" in item:
            pytest.fail(f"/query {sql!r} -> {item}")
    return rows


def table_state(server) -> tuple[dict, dict]:
    """({(key, window start): n} of counts, {key: n} of totals)."""
    counts = {}
    for k, start, end, n in pull(server, "SELECT * FROM counts;"):
        assert end - start == WINDOW_MS, (k, start, end, n)
        assert (k, start) not in counts, f"two rows for {(k, start)}"
        counts[(k, start)] = n
    totals = {}
    for k, n in pull(server, "SELECT * FROM totals;"):
        assert k not in totals, f"two rows for {k}"
        totals[k] = n
    return counts, totals


def expected_from(records) -> tuple[Counter, Counter]:
    """(count per (key, window), count per key) of (key, timestamp) pairs."""
    counts, totals = Counter(), Counter()
    for key, ts in records:
        counts[(key, window_of(ts))] += 1
        totals[key] += 1
    return counts, totals


def covers(table: dict, expected: Counter) -> bool:
    return all(table.get(g, 0) >= n for g, n in expected.items())


def run_scenario(server, stop_server) -> dict:
    ksql(server, CREATE_SOURCE)
    query_ids = [ksql(server, sql, EARLIEST)[0]["commandStatus"]["queryId"]
                 for sql in (CREATE_COUNTS, CREATE_TOTALS)]

    feeder = TimedFeeder(server.bootstrap, TOTAL, RATE_PER_S)
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
    assert TOTAL - produced_at_last_restart > 300, (
        f"too little input after the last restart: {produced_at_last_restart} of {TOTAL} "
        "records were produced before it")

    # Both queries are back after the last restart, under the same ids, running.
    rows = show_queries(server)
    by_id = {r.get("name") or r.get("id"): r for r in rows}
    for qid, sink in zip(query_ids, ("COUNTS", "TOTALS")):
        assert qid in by_id, f"{qid} not in SHOW QUERIES after restart: {rows}"
        assert by_id[qid].get("sinkKafkaTopics") == [sink], rows
        assert by_id[qid].get("state") == "RUNNING", rows

    # New input through the engine itself, after the last restart. Its time follows the last
    # produced record's: a wall-clock time would move stream time years ahead of records not
    # yet aggregated, and those would then be dropped as late.
    ksql(server, f"INSERT INTO readings (ROWTIME, k, seq, tag) VALUES ({ts_of(TOTAL)}, "
                 "'fresh', -1, 'f');")

    acked = [(key_of(s), ts_of(s)) for s in feeder.acked]
    exp_counts, exp_totals = expected_from(acked)
    exp_totals["fresh"] = 1

    # Wait until the tables cover every acked record and then stay unchanged for SETTLE_S.
    deadline = time.monotonic() + DEADLINE_S
    last, stable_since = None, time.monotonic()
    while True:
        state = table_state(server)
        if state != last:
            last, stable_since = state, time.monotonic()
        counts, totals = state
        caught_up = covers(counts, exp_counts) and covers(totals, exp_totals)
        if caught_up and time.monotonic() - stable_since >= SETTLE_S:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)

    source = read_topic(server.bootstrap, SOURCE_TOPIC)
    src_records = []
    for r in source:
        value = json.loads(r.value)
        if "seq" in value:  # the producer's records; the INSERT one is checked on its own
            src_records.append((r.key.decode(), r.timestamp))
    return {
        "counts": counts, "totals": totals,
        "exp_counts": exp_counts, "exp_totals": exp_totals,
        "source": expected_from(src_records), "source_len": len(src_records),
        "fresh_rows": pull(server, "SELECT * FROM counts WHERE k='fresh';"),
        "acked": acked,
        "after_restart": [(key_of(s), ts_of(s)) for s in feeder.acked
                          if s >= produced_at_last_restart],
    }


def check_common(seen: dict) -> None:
    """No loss: every acked record is counted, in both tables; the new input is counted."""
    counts, totals = seen["counts"], seen["totals"]
    missing = {g: (n, counts.get(g)) for g, n in seen["exp_counts"].items()
               if counts.get(g, 0) < n}
    assert not missing, (
        f"{len(missing)} of {len(seen['exp_counts'])} windows under-counted or absent "
        f"((key, window): (acked, table)), e.g. {sorted(missing.items())[:8]}")
    missing_totals = {k: (n, totals.get(k)) for k, n in seen["exp_totals"].items()
                      if totals.get(k, 0) < n}
    assert not missing_totals, f"totals under-counted (key: (acked, table)): {missing_totals}"
    # Input after the last restart lands in windows of its own (timestamps increase).
    late_windows = set(expected_from(seen["after_restart"])[0])
    assert late_windows and late_windows <= set(counts)
    assert [r[1:] for r in seen["fresh_rows"]] == [
        [window_of(ts_of(TOTAL)), window_of(ts_of(TOTAL)) + WINDOW_MS, 1]], seen["fresh_rows"]
    assert totals.get("fresh") == 1, totals.get("fresh")
    # Nothing counted that was never written.
    src_counts = seen["source"][0]
    spurious = set(counts) - set(src_counts) - {(k, w) for k, w in counts if k == "fresh"}
    assert not spurious, f"windows without input: {sorted(spurious)[:8]}"


def over_count(seen: dict) -> tuple[int, int]:
    """(records counted beyond the acked ones, beyond what the source topic holds)."""
    counts = {g: n for g, n in seen["counts"].items() if g[0] != "fresh"}
    beyond_acked = sum(counts.values()) - sum(seen["exp_counts"].values())
    beyond_source = sum(counts.values()) - sum(seen["source"][0].values())
    return beyond_acked, beyond_source


def _sigkill(server) -> None:
    server.crash()


def _sigterm(server) -> None:
    code = server.stop()
    assert code == 0, f"server exited with {code} on SIGTERM"


def test_aggregate_survives_sigkill(flusso_fresh):
    """At-least-once across SIGKILLs: no acked record is missing from any count."""
    seen = run_scenario(flusso_fresh, _sigkill)
    check_common(seen)
    beyond_acked, beyond_source = over_count(seen)
    print(f"SIGKILL: {len(seen['acked'])} acked, {seen['source_len']} in the source topic, "
          f"{len(seen['exp_counts'])} windows, {len(seen['after_restart'])} records after the "
          f"last restart; counted {beyond_acked} beyond the acked records, "
          f"{beyond_source} beyond the source topic")


def test_aggregate_survives_sigterm(flusso_fresh):
    """Clean restarts: the counts equal those of an uninterrupted run over the source topic."""
    seen = run_scenario(flusso_fresh, _sigterm)
    check_common(seen)
    src_counts, src_totals = seen["source"]
    counts = {g: n for g, n in seen["counts"].items() if g[0] != "fresh"}
    wrong = {g: (src_counts.get(g), counts.get(g)) for g in set(counts) | set(src_counts)
             if counts.get(g) != src_counts.get(g)}
    assert not wrong, (
        f"{len(wrong)} windows differ from an uninterrupted run ((key, window): "
        f"(source, table)), e.g. {sorted(wrong.items())[:8]}")
    totals = {k: n for k, n in seen["totals"].items() if k != "fresh"}
    assert totals == dict(src_totals), {k: (src_totals.get(k), totals.get(k))
                                        for k in set(totals) | set(src_totals)
                                        if totals.get(k) != src_totals.get(k)}
    beyond_acked, _ = over_count(seen)
    print(f"SIGTERM: {len(seen['acked'])} acked, {seen['source_len']} in the source topic "
          f"({beyond_acked} duplicate input records), {len(seen['after_restart'])} after the last "
          f"restart; {len(seen['exp_counts'])} windows exact")
