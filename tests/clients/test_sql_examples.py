"""Every tutorial in sql-examples/ runs as written and produces what it says it produces.

Each ``sql-examples/*.sql`` file is POSTed whole to ``/ksql`` of a fresh server (with
``auto.offset.reset=earliest``). The file states its expected output in comment lines of the form

    -- expect <TOPIC>: {"key": <string or null>, "value": <JSON value, or a string>}

one line per record. The test reads each named topic from the beginning (all partitions) until it
holds exactly those records, in any order across partitions. A JSON ``value`` is compared with the
record's value parsed as JSON; a string ``value`` with the record's raw text (for DELIMITED or
KAFKA formats).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

EXAMPLES = Path(__file__).resolve().parents[2] / "sql-examples"
EXPECT = re.compile(r"^\s*--\s*expect\s+([^\s:]+)\s*:\s*(.+?)\s*$")
DEADLINE_S = 30.0


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.sql"))


def expectations(sql: str) -> dict[str, list[tuple]]:
    """``{topic: [(key, value), ...]}`` from the ``-- expect`` lines."""
    out: dict[str, list[tuple]] = {}
    for n, line in enumerate(sql.splitlines(), 1):
        m = EXPECT.match(line)
        if not m:
            continue
        try:
            record = json.loads(m.group(2))
        except ValueError as e:
            pytest.fail(f"line {n}: the expected record is not JSON ({e}): {line}")
        assert set(record) == {"key", "value"}, f"line {n}: need exactly 'key' and 'value': {line}"
        out.setdefault(m.group(1), []).append((record["key"], canonical(record["value"])))
    return out


def canonical(value) -> str:
    """A hashable form: raw text stays as is, JSON values are re-serialized with sorted keys."""
    if isinstance(value, str):
        return "raw:" + value
    return "json:" + json.dumps(value, sort_keys=True)


def actual(record, expect_raw: bool) -> tuple:
    key = None if record.key is None else record.key.decode("utf-8", errors="replace")
    if record.value is None:
        return key, canonical(None)
    text = record.value.decode("utf-8", errors="replace")
    if expect_raw:
        return key, "raw:" + text
    try:
        return key, canonical(json.loads(text))
    except ValueError:
        return key, "raw:" + text


def post_ksql(server, sql: str) -> list:
    body = json.dumps({"ksql": sql,
                       "streamsProperties": {"auto.offset.reset": "earliest"}}).encode()
    req = urllib.request.Request(server.http + "/ksql", data=body,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        pytest.fail(f"/ksql answered HTTP {e.code}: {e.read().decode(errors='replace')}",
                    pytrace=False)


def read_until(bootstrap: str, topic: str, expected: Counter) -> Counter:
    """Polls ``topic`` from the beginning until its records equal ``expected`` or time is up."""
    raw = any(v.startswith("raw:") for _, v in expected)
    c = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False)
    try:
        deadline = time.monotonic() + DEADLINE_S
        parts = None
        while not parts and time.monotonic() < deadline:
            parts = c.partitions_for_topic(topic)
            if not parts:
                c.poll(timeout_ms=100)   # lets the metadata refresh
        assert parts, f"topic {topic} does not exist"
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        got: Counter = Counter()
        while time.monotonic() < deadline:
            for records in c.poll(timeout_ms=200).values():
                got.update(actual(r, raw) for r in records)
            if got == expected:
                break
        return got
    finally:
        c.close()


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_sql_example(flusso_fresh, path: Path):
    sql = path.read_text(encoding="utf-8")
    expected = expectations(sql)
    assert expected, f"{path.name} has no '-- expect <TOPIC>: {{...}}' lines"

    entities = post_ksql(flusso_fresh, sql)
    for e in entities:
        status = e.get("commandStatus", {}).get("status")
        assert status in (None, "SUCCESS"), e

    for topic, records in expected.items():
        want = Counter(records)
        got = read_until(flusso_fresh.bootstrap, topic, want)
        assert got == want, (
            f"{path.name}: topic {topic}\n"
            f"  missing: {sorted((want - got).elements(), key=repr)}\n"
            f"  unexpected: {sorted((got - want).elements(), key=repr)}")


def test_there_are_examples():
    assert example_files(), f"no .sql files in {EXAMPLES}"
