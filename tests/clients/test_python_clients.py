"""The two ksqlDB clients for Python from PyPI, unchanged, against a real Flusso server.

- ``ksql-python-ng`` (import name ``ksql``): ``KSQLAPI`` over ``/ksql`` and ``/info``, push
  queries on ``/query`` (HTTP/1.1) and ``/query-stream`` (HTTP/2 cleartext), ``/inserts-stream``
  and ``/close-query`` over HTTP/2, its statement builder and its ``ksql.utils`` helpers.
- ``ksqldb`` (``KSQLdbClient``): ``/ksql`` through requests, async push queries on
  ``/query-stream`` over HTTP/2 cleartext (httpx), ``/inserts-stream`` and ``/close-query``.

With each: create a stream, insert rows (INSERT VALUES and the client's insert API), a push query
returning them, a pull query (a bounded scan of the stream), errors.
"""

from __future__ import annotations

import asyncio
import gc
import json
import uuid

import pytest

ksql_pkg = pytest.importorskip("ksql")
ksqldb_pkg = pytest.importorskip("ksqldb")

from ksql import KSQLAPI  # noqa: E402
from ksql.errors import KSQLError  # noqa: E402
from ksql import utils as ksql_utils  # noqa: E402
from ksqldb import KSQLdbClient  # noqa: E402

# ksql-python-ng's close_query posts bytes with httpx's deprecated `data=`.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

EARLIEST = {"ksql.streams.auto.offset.reset": "earliest"}


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}".upper()


def stream_ddl(name: str) -> str:
    return (f"CREATE STREAM {name} (ID INT KEY, NAME STRING, V DOUBLE) WITH ("
            f"kafka_topic='{name.lower()}', value_format='JSON', partitions=1);")


def insert_sql(name: str, rows) -> str:
    return " ".join(f"INSERT INTO {name} (ID, NAME, V) VALUES ({i}, '{n}', {v});"
                    for i, n, v in rows)


ROWS = [(1, "alice", 1.5), (2, "bob", 2.5), (3, "carol", 3.5)]


# ---------------------------------------------------------------------------------------------
# ksql-python-ng
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def ng(flusso):
    # check_version=True: the constructor reads /info.
    return KSQLAPI(flusso.http, timeout=30)


def test_ng_version_and_properties(ng):
    assert ng.get_ksql_version()
    assert isinstance(ng.get_properties(), list)


def test_ng_create_insert_push_query(ng):
    name = unique("NG")
    (created,) = ng.ksql(stream_ddl(name))
    assert created["@type"] == "currentStatus"
    assert created["commandStatus"]["status"] == "SUCCESS"
    assert ng.ksql(insert_sql(name, ROWS[:2])) == []
    acks = ng.inserts_stream(name, [{"ID": 3, "NAME": "carol", "V": 3.5}])
    assert acks == [{"status": "ok", "seq": 0}]

    # /query over HTTP/1.1: the raw streamed JSON array, as chunks.
    chunks = list(ng.query(f"SELECT * FROM {name} EMIT CHANGES LIMIT 3",
                           stream_properties=EARLIEST))
    body = json.loads("".join(chunks))
    assert body[0]["header"]["schema"] == "`ID` INTEGER, `NAME` STRING, `V` DOUBLE"
    assert [r["row"]["columns"] for r in body[1:-1]] == [list(r) for r in ROWS]
    assert body[-1] == {"finalMessage": "Limit Reached"}


def test_ng_push_query_over_http2_parsed(ng):
    name = unique("NG")
    ng.ksql(stream_ddl(name))
    ng.ksql(insert_sql(name, ROWS))
    rows = list(ng.query(f"SELECT ID, NAME FROM {name} EMIT CHANGES LIMIT 3",
                         stream_properties=EARLIEST, use_http2=True, parse=True))
    assert rows == [{"ID": i, "NAME": n} for i, n, _ in ROWS]


def test_ng_inserts_stream_reports_bad_rows(ng):
    name = unique("NG")
    ng.ksql(stream_ddl(name))
    acks = ng.inserts_stream(name, [{"ID": 1, "NAME": "a", "V": 1.0},
                                    {"ID": "one", "NAME": "b"},
                                    {"ID": 2, "NAME": "c", "V": 2.0}])
    assert [a["seq"] for a in acks] == [0, 1, 2]
    assert [a["status"] for a in acks] == ["ok", "error", "ok"]
    assert acks[1]["message"]
    rows = list(ng.query(f"SELECT ID FROM {name} EMIT CHANGES LIMIT 2",
                         stream_properties=EARLIEST, use_http2=True, parse=True))
    assert rows == [{"ID": 1}, {"ID": 2}]


def test_ng_close_query(ng):
    name = unique("NG")
    ng.ksql(stream_ddl(name))
    ng.ksql(insert_sql(name, ROWS[:1]))
    results = ng.query(f"SELECT * FROM {name} EMIT CHANGES", stream_properties=EARLIEST,
                       use_http2=True)
    header = json.loads(next(results))
    assert json.loads(next(results)) == list(ROWS[0])
    assert ng.close_query(header["queryId"]) is True
    assert [r for r in results if r.strip()] == []   # the stream ends
    assert ng.close_query(header["queryId"]) is False


def test_ng_builder_and_utils(ng, flusso):
    from kafka.admin import KafkaAdminClient, NewTopic
    name = unique("NGB")
    topic = name.lower()
    admin = KafkaAdminClient(bootstrap_servers=flusso.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        admin.close()
    # CREATE stream NAME (...) WITH (kafka_topic=..., value_format=...) over an existing topic.
    assert ng.create_stream(table_name=name, columns_type=["ID INT KEY", "NAME STRING", "V DOUBLE"],
                            topic=topic) is True
    sink = unique("NGS")
    assert ng.create_stream_as(table_name=sink, select_columns=["ID", "NAME"], src_table=name,
                               conditions="V > 2") is True
    assert name in ksql_utils.get_all_streams(ng, prefix=name)
    info = ksql_utils.get_stream_info(ng, name)
    assert info["name"] == name
    assert [q["id"] for q in info["readQueries"]]
    assert ksql_utils.get_stream_info(ng, unique("NOPE")) is None
    ng.ksql(insert_sql(name, ROWS))
    rows = list(ng.query(f"SELECT * FROM {sink} EMIT CHANGES LIMIT 2",
                         stream_properties=EARLIEST, use_http2=True, parse=True))
    assert rows == [{"ID": 2, "NAME": "bob"}, {"ID": 3, "NAME": "carol"}]
    # drop_stream terminates the queries that read or write it, then drops it.
    ksql_utils.drop_stream(ng, sink)
    ksql_utils.drop_stream(ng, name)
    assert ksql_utils.get_all_streams(ng, prefix=name) == []


def test_ng_pull_query(ng):
    name = unique("NG")
    ng.ksql(stream_ddl(name))
    ng.ksql(insert_sql(name, ROWS))
    body = json.loads("".join(ng.query(f"SELECT * FROM {name}")))
    rows = [r["row"]["columns"] for r in body if "row" in r]
    assert rows == [list(r) for r in ROWS]


def test_ng_pull_query_over_http2(ng):
    name = unique("NG")
    ng.ksql(stream_ddl(name))
    ng.ksql(insert_sql(name, ROWS))
    rows = list(ng.query(f"SELECT ID FROM {name}", use_http2=True, parse=True))
    assert rows == [{"ID": i} for i, _, _ in ROWS]


def test_ng_errors(ng):
    with pytest.raises(KSQLError) as e:
        ng.ksql("CREATE STREAM oops (ID INT WITH (kafka_topic='x');")
    assert e.value.error_code == 40001
    assert "Syntax Error" in e.value.msg or "line 1" in e.value.msg

    name = unique("NG")
    ng.ksql(stream_ddl(name))
    with pytest.raises(KSQLError) as e:
        ng.ksql(stream_ddl(name))
    assert e.value.error_code == 40001
    assert "already exists" in e.value.msg

    with pytest.raises(KSQLError) as e:
        ng.ksql(f"SELECT * FROM {name} EMIT CHANGES;")
    assert e.value.error_code == 40002

    missing = unique("NOPE")
    with pytest.raises(ValueError, match="HTTP error encountered: 400") as e:
        list(ng.query(f"SELECT * FROM {missing} EMIT CHANGES"))
    assert missing in str(e.value)
    with pytest.raises(ValueError, match="HTTP error encountered: 400"):
        list(ng.query(f"SELECT * FROM {missing} EMIT CHANGES", use_http2=True))


# ---------------------------------------------------------------------------------------------
# ksqldb (KSQLdbClient)
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def kdb(flusso):
    yield KSQLdbClient(flusso.http)
    # The client leaves its httpx clients (and their HTTP/2 connections) open; collect them so
    # their sockets close, or the server's shutdown waits on them (see test_rest_api.py's
    # test_sigterm_with_an_idle_http2_connection).
    gc.collect()


async def collect(agen, limit: int | None = None) -> list:
    out = []
    async for item in agen:
        out.append(item)
        if limit is not None and len(out) >= limit:
            break
    return out


def test_ksqldb_create_insert_push_query(kdb):
    name = unique("KDB")
    (created,) = kdb.ksql(stream_ddl(name))
    assert created["commandId"] == f"stream/{name}/create"
    assert created["commandStatus"]["status"] == "SUCCESS"
    assert kdb.ksql(insert_sql(name, ROWS[:2])) == []
    acks = kdb.inserts_stream(name, [{"ID": 3, "NAME": "carol", "V": 3.5}])
    assert acks == [{"status": "ok", "seq": 0}]
    (streams,) = kdb.ksql("SHOW STREAMS;")
    assert name in [s["name"] for s in streams["streams"]]

    items = asyncio.run(collect(kdb.query_async(
        f"SELECT * FROM {name} EMIT CHANGES LIMIT 3;", stream_properties=EARLIEST, timeout=30)))
    header, *rows = items
    assert header["columnNames"] == ["ID", "NAME", "V"]
    assert header["columnTypes"] == ["INTEGER", "STRING", "DOUBLE"]
    assert rows == [list(r) for r in ROWS]


def test_ksqldb_rows_arrive_while_the_query_runs(kdb):
    name = unique("KDB")
    kdb.ksql(stream_ddl(name))

    async def scenario():
        agen = kdb.query_async(f"SELECT ID, NAME FROM {name} EMIT CHANGES;", timeout=30)
        header = await asyncio.wait_for(agen.__anext__(), 10)
        got = []
        for i, n, v in ROWS:
            await asyncio.to_thread(kdb.ksql, insert_sql(name, [(i, n, v)]))
            got.append(await asyncio.wait_for(agen.__anext__(), 5))
        assert kdb.close_query(header["queryId"]) is True
        rest = await asyncio.wait_for(collect(agen), 10)   # the stream ends
        return header, got, rest

    header, got, rest = asyncio.run(scenario())
    assert header["columnNames"] == ["ID", "NAME"]
    assert got == [[i, n] for i, n, _ in ROWS]
    assert rest == []


def test_ksqldb_inserts_stream_reports_bad_rows(kdb):
    name = unique("KDB")
    kdb.ksql(stream_ddl(name))
    acks = kdb.inserts_stream(name, [{"ID": 1, "NAME": "a", "V": 1.0},
                                     {"NO_SUCH_COLUMN": 1},
                                     {"ID": 2, "NAME": "c", "V": 2.0}])
    assert [(a["seq"], a["status"]) for a in acks] == [(0, "ok"), (1, "error"), (2, "ok")]
    assert isinstance(acks[1]["error_code"], int) and acks[1]["message"]


def test_ksqldb_properties_and_close_unknown(kdb):
    assert isinstance(kdb.get_properties(), list)
    assert kdb.close_query("no_such_query") is False


def test_ksqldb_pull_query(kdb):
    name = unique("KDB")
    kdb.ksql(stream_ddl(name))
    kdb.ksql(insert_sql(name, ROWS))
    header, *rows = kdb.query_sync(f"SELECT * FROM {name};", timeout=30)
    assert header["columnNames"] == ["ID", "NAME", "V"]
    assert rows == [list(r) for r in ROWS]


def test_ksqldb_errors(kdb):
    requests = pytest.importorskip("requests")
    with pytest.raises(requests.HTTPError) as e:
        kdb.ksql("CREATE STREAM oops (ID INT WITH (kafka_topic='x');")
    assert e.value.response.status_code == 400
    body = e.value.response.json()
    assert body["@type"] == "statement_error"
    assert body["error_code"] == 40001
    assert body["message"]

    # Errors of /query-stream come back as the stream's only item.
    missing = unique("NOPE")
    items = asyncio.run(collect(kdb.query_async(f"SELECT * FROM {missing} EMIT CHANGES;")))
    (error,) = items
    assert error["@type"] == "statement_error"
    assert error["error_code"] == 40001
    assert missing in error["message"]
