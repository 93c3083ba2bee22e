"""ksqlDB's REST API as a client sees it (``docs`` §10 of the ksqlDB reference).

Raw HTTP with the standard library (``http.client`` and sockets), ``httpx`` for HTTP/2
cleartext with prior knowledge, ``websockets`` for ``/ws/query``:

- every route answers with ksqlDB's shapes (``/info``, ``/healthcheck``, ``/status``,
  ``/is_valid_property``, ``/v1/metadata``, probes, ``GET /`` redirect, unknown routes);
- ``/ksql`` entities (``currentStatus``, listings, descriptions, EXPLAIN) and statement errors;
- streaming: ``/query`` rows arrive while the query runs, ``LIMIT`` ends with ``finalMessage``,
  PRINT, ``/query-stream`` in its delimited and JSON forms, ``/close-query``,
  ``/inserts-stream`` acks, ``/ws/query``;
- abuse: malformed bodies, wrong types and content types, a 50 MB body, a client that sends one
  byte at a time, clients that vanish mid-stream; after each the server still answers and no
  answer is a 500;
- 200 push queries at once, all dropped abruptly, and ``/metrics`` sees them go;
- ``/metrics`` is valid Prometheus text with per-query counters.

Tests that show a server bug are marked ``xfail(strict=True)`` with the bug in the reason.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import socket
import struct
import threading
import time
import urllib.parse
import uuid

import pytest

TIMEOUT_S = 30


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}".upper()


def request(server, method: str, path: str, body: bytes | str | None = None,
            headers: dict | None = None, timeout: float = TIMEOUT_S):
    """One request on a fresh connection: (status, lower-cased headers, body bytes)."""
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def post_json(server, path: str, payload, headers: dict | None = None):
    h = {"Content-Type": "application/vnd.ksql.v1+json",
         "Accept": "application/vnd.ksql.v1+json"}
    h.update(headers or {})
    status, hdrs, data = request(server, "POST", path, json.dumps(payload), h)
    return status, hdrs, data


def ksql_raw(server, sql: str, props: dict | None = None):
    """POST /ksql: (status, parsed body)."""
    status, _, data = post_json(server, "/ksql", {"ksql": sql, "streamsProperties": props or {}})
    return status, json.loads(data)


def ksql(server, sql: str, props: dict | None = None) -> list:
    status, body = ksql_raw(server, sql, props)
    assert status == 200, (status, body)
    assert isinstance(body, list), body
    return body


def get_json(server, path: str):
    status, hdrs, data = request(server, "GET", path,
                                 headers={"Accept": "application/vnd.ksql.v1+json"})
    return status, hdrs, json.loads(data) if data else None


def create_stream(server, name: str | None = None, partitions: int = 1) -> str:
    name = name or unique("S")
    ksql(server, f"CREATE STREAM {name} (ID INT KEY, NAME STRING, V DOUBLE) WITH ("
                 f"kafka_topic='{name.lower()}', value_format='JSON', partitions={partitions});")
    return name


def insert(server, stream: str, *rows: tuple) -> None:
    sql = " ".join(
        f"INSERT INTO {stream} (ID, NAME, V) VALUES ({i}, '{n}', {v});" for i, n, v in rows)
    assert ksql(server, sql) == []


def assert_error(status: int, body, code: int | None = None, http_status: int = 400):
    """ksqlDB's error body (§10.8)."""
    assert status == http_status, (status, body)
    assert isinstance(body, dict), body
    assert body.get("@type") in ("generic_error", "statement_error"), body
    assert isinstance(body.get("error_code"), int), body
    assert body["error_code"] // 100 == http_status, body
    if code is not None:
        assert body["error_code"] == code, body
    assert isinstance(body.get("message"), str) and body["message"], body


def assert_healthy(server):
    assert server.running(), f"flusso died\n{server.log_tail()}"
    health = server.health(timeout=10)
    assert health is not None and health["isHealthy"] is True, f"unhealthy\n{server.log_tail()}"


def metric(server, name: str) -> float:
    status, _, data = request(server, "GET", "/metrics")
    assert status == 200
    for line in data.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} in /metrics")


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    return last


def parse_streamed_line(line: bytes):
    """One element of /query's streamed JSON array (``[{...},`` / ``{...},`` / ``{...}]``)."""
    s = line.decode().strip()
    if s.startswith("["):
        s = s[1:]
    if s.endswith(","):
        s = s[:-1]
    elif s.endswith("]"):
        s = s[:-1]
    return json.loads(s) if s else None


class Stream:
    """A streaming POST read line by line as it arrives (HTTP/1.1 chunked)."""

    def __init__(self, server, path: str, payload, headers: dict | None = None,
                 timeout: float = TIMEOUT_S):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=timeout)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        self.conn.request("POST", path, body=body, headers=h)
        self.sock = self.conn.sock
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}

    def line(self, timeout: float = 10.0) -> bytes:
        """The next line; b'' at the end of the response. Raises on timeout."""
        self.sock.settimeout(timeout)
        while True:
            line = self.resp.readline()
            if line.strip() or not line:
                return line

    def rest(self, timeout: float = 10.0) -> bytes:
        self.sock.settimeout(timeout)
        return self.resp.read()

    def abort(self) -> None:
        """Drop the connection with a TCP reset."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        try:
            self.resp.close()
        finally:
            self.conn.close()
            try:
                self.sock.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def earliest(props: dict | None = None) -> dict:
    return {"ksql.streams.auto.offset.reset": "earliest", **(props or {})}


# ---------------------------------------------------------------------------------------------
# §10.1 / §10.7: the small routes
# ---------------------------------------------------------------------------------------------

def test_info(flusso):
    status, _, body = get_json(flusso, "/info")
    assert status == 200
    info = body["KsqlServerInfo"]
    for field in ("version", "kafkaClusterId", "ksqlServiceId"):
        assert isinstance(info[field], str) and info[field], info
    assert info["serverStatus"] == "RUNNING"


def test_healthcheck(flusso):
    status, _, body = get_json(flusso, "/healthcheck")
    assert status == 200
    assert body["isHealthy"] is True
    for part in ("metastore", "kafka"):
        assert body["details"][part]["isHealthy"] is True, body
    assert body["serverState"] == "READY"


@pytest.mark.parametrize("path", ["/chc/ready", "/chc/live"])
def test_probes(flusso, path):
    status, hdrs, data = request(flusso, "GET", path)
    assert status == 200
    assert hdrs["content-type"].startswith("application/json")
    assert json.loads(data) == {}


def test_root_redirects_to_info(flusso):
    status, hdrs, _ = request(flusso, "GET", "/")
    assert status == 307
    assert hdrs["location"] in ("/info", f"{flusso.http}/info")


def test_unknown_route_is_404(flusso):
    status, _, data = request(flusso, "GET", "/no/such/route")
    assert status == 404
    assert b"Not Found" in data
    status, _, data = request(flusso, "POST", "/nope", b"{}")
    assert status == 404


def test_wrong_method_is_not_a_500(flusso):
    for method, path in [("GET", "/ksql"), ("DELETE", "/query"), ("PUT", "/info")]:
        status, _, _ = request(flusso, method, path)
        assert status in (404, 405), (method, path, status)


def test_status_of_a_command(flusso):
    name = unique("ST")
    create_stream(flusso, name)
    status, _, body = get_json(flusso, f"/status/stream/{name}/create")
    assert status == 200, body
    assert body["status"] == "SUCCESS"
    assert isinstance(body["message"], str)
    status, _, body = get_json(flusso, "/status")
    assert status == 200
    assert body["commandStatuses"][f"stream/{name}/create"] == "SUCCESS"


def test_status_of_an_unknown_command(flusso):
    status, _, body = get_json(flusso, f"/status/stream/{unique('NOPE')}/create")
    assert_error(status, body, 40400, http_status=404)


def test_is_valid_property(flusso):
    for prop in ("ksql.streams.auto.offset.reset", "auto.offset.reset"):
        status, _, body = get_json(flusso, f"/is_valid_property/{prop}")
        assert status == 200, (prop, body)
        assert body is True


def test_is_valid_property_unknown_name(flusso):
    # ksqlDB resolves the name and answers 400 generic_error 40000 for one it does not know.
    status, _, body = get_json(flusso, "/is_valid_property/no.such.property")
    assert_error(status, body, 40000)


def test_metadata(flusso):
    status, _, body = get_json(flusso, "/v1/metadata")
    assert status == 200
    assert isinstance(body["version"], str)
    clusters = body["clusterId"]["scope"]["clusters"]
    assert set(clusters) >= {"kafka-cluster", "ksql-cluster"}
    status, _, body = get_json(flusso, "/v1/metadata/id")
    assert status == 200
    assert "kafka-cluster" in body["scope"]["clusters"]


def test_cluster_status(flusso):
    status, _, body = get_json(flusso, "/clusterStatus")
    assert status == 200
    assert isinstance(body["clusterStatus"], dict)


def _terminate_cluster_setup(server) -> str:
    src = create_stream(server)
    (c,) = ksql(server, f"CREATE STREAM {unique('SINK')} AS SELECT * FROM {src};")
    return c["commandStatus"]["queryId"]


def test_terminate_cluster_stops_every_query(flusso_fresh):
    _terminate_cluster_setup(flusso_fresh)
    status, _, data = post_json(flusso_fresh, "/ksql/terminate", {})
    assert status == 200, data
    body = json.loads(data)
    entity = body[0] if isinstance(body, list) else body
    assert entity["@type"] == "currentStatus"
    assert entity["commandStatus"]["status"] == "SUCCESS"
    (e,) = ksql(flusso_fresh, "SHOW QUERIES;")
    assert e["queries"] == []
    assert_healthy(flusso_fresh)


def test_terminate_cluster_answers_an_entity_list(flusso_fresh):
    _terminate_cluster_setup(flusso_fresh)
    status, _, data = post_json(flusso_fresh, "/ksql/terminate", {"deleteTopicList": []})
    assert status == 200, data
    (entity,) = json.loads(data)
    assert entity["@type"] == "currentStatus"
    assert entity["commandId"] == "cluster/CLUSTER/terminate"


# ---------------------------------------------------------------------------------------------
# §10.3: /ksql entities
# ---------------------------------------------------------------------------------------------

def assert_current_status(entity: dict, command_id: str):
    assert entity["@type"] == "currentStatus", entity
    assert entity["commandId"] == command_id, entity
    assert entity["commandStatus"]["status"] == "SUCCESS", entity
    assert isinstance(entity["commandStatus"]["message"], str)
    assert isinstance(entity["commandSequenceNumber"], int)
    assert entity["statementText"].rstrip().endswith(";")
    assert entity["warnings"] == []


def test_create_csas_terminate_drop_are_current_status(flusso):
    src, sink = unique("SRC"), unique("SINK")
    entities = ksql(flusso,
                    f"CREATE STREAM {src} (ID INT KEY, V STRING) WITH (kafka_topic='{src.lower()}',"
                    f" value_format='JSON', partitions=1);"
                    f"CREATE STREAM {sink} AS SELECT * FROM {src};")
    assert len(entities) == 2
    assert_current_status(entities[0], f"stream/{src}/create")
    assert_current_status(entities[1], f"stream/{sink}/create")
    assert entities[1]["commandSequenceNumber"] > entities[0]["commandSequenceNumber"]
    query_id = entities[1]["commandStatus"]["queryId"]
    assert query_id.startswith(f"CSAS_{sink}")
    (term,) = ksql(flusso, f"TERMINATE {query_id};")
    assert term["@type"] == "currentStatus"
    assert term["commandStatus"]["status"] == "SUCCESS"
    assert isinstance(term["commandId"], str) and isinstance(term["commandSequenceNumber"], int)
    (drop,) = ksql(flusso, f"DROP STREAM {sink};")
    assert_current_status(drop, f"stream/{sink}/drop")
    (drop,) = ksql(flusso, f"DROP STREAM {src} DELETE TOPIC;")
    assert_current_status(drop, f"stream/{src}/drop")


def test_show_streams_and_tables(flusso):
    stream = create_stream(flusso)
    table = unique("T")
    ksql(flusso, f"CREATE TABLE {table} (ID INT PRIMARY KEY, V STRING) WITH ("
                 f"kafka_topic='{table.lower()}', value_format='JSON', partitions=1);")
    for statement in ("SHOW STREAMS;", "LIST STREAMS;"):
        (e,) = ksql(flusso, statement)
        assert e["@type"] == "streams"
        (s,) = [s for s in e["streams"] if s["name"] == stream]
        assert s == {"type": "STREAM", "name": stream, "topic": stream.lower(),
                     "keyFormat": "KAFKA", "valueFormat": "JSON", "isWindowed": False}
    (e,) = ksql(flusso, "SHOW TABLES;")
    assert e["@type"] == "tables"
    (t,) = [t for t in e["tables"] if t["name"] == table]
    assert t == {"type": "TABLE", "name": table, "topic": table.lower(),
                 "keyFormat": "KAFKA", "valueFormat": "JSON", "isWindowed": False}


def test_show_queries(flusso):
    src = create_stream(flusso)
    sink = unique("SINK")
    (c,) = ksql(flusso, f"CREATE STREAM {sink} AS SELECT * FROM {src};")
    qid = c["commandStatus"]["queryId"]
    (e,) = ksql(flusso, "SHOW QUERIES;")
    assert e["@type"] == "queries"
    (q,) = [q for q in e["queries"] if q["id"] == qid]
    assert q["sinks"] == [sink]
    assert q["sinkKafkaTopics"] == [sink]
    assert q["queryType"] == "PERSISTENT"
    assert q["state"] == "RUNNING"
    assert q["statusCount"] == {"RUNNING": 1}
    assert sink in q["queryString"].upper()


def test_show_queries_extended(flusso):
    src = create_stream(flusso)
    (c,) = ksql(flusso, f"CREATE STREAM {unique('SINK')} AS SELECT * FROM {src};")
    (e,) = ksql(flusso, "SHOW QUERIES EXTENDED;")
    assert e["@type"] == "query_descriptions"
    ids = [d["id"] for d in e["queryDescriptions"]]
    assert c["commandStatus"]["queryId"] in ids


def test_show_queries_lists_push_queries(flusso):
    stream = create_stream(flusso)
    with Stream(flusso, "/query-stream", {"sql": f"SELECT * FROM {stream} EMIT CHANGES;"}) as s:
        qid = json.loads(s.line())["queryId"]
        (e,) = ksql(flusso, "SHOW QUERIES;")
        (q,) = [q for q in e["queries"] if q["id"] == qid]
        assert q["queryType"] == "PUSH"


def test_terminate_push_query(flusso):
    stream = create_stream(flusso)
    with Stream(flusso, "/query-stream", {"sql": f"SELECT * FROM {stream} EMIT CHANGES;"}) as s:
        qid = json.loads(s.line())["queryId"]
        (e,) = ksql(flusso, f"TERMINATE {qid};")
        assert e["@type"] == "terminate_query"
        assert e["queryId"] == qid
        assert e["wasTerminated"] is True
        assert s.line(timeout=5) == b""


def test_show_topics(flusso):
    stream = create_stream(flusso)
    (e,) = ksql(flusso, "SHOW TOPICS;")
    assert e["@type"] == "kafka_topics"
    (t,) = [t for t in e["topics"] if t["name"] == stream.lower()]
    assert t["replicaInfo"] == [1]
    (e,) = ksql(flusso, "SHOW ALL TOPICS;")
    assert e["@type"] == "kafka_topics"
    assert stream.lower() in [t["name"] for t in e["topics"]]


def test_show_topics_extended(flusso):
    stream = create_stream(flusso)
    (e,) = ksql(flusso, "SHOW TOPICS EXTENDED;")
    assert e["@type"] == "kafka_topics_extended"
    (t,) = [t for t in e["topics"] if t["name"] == stream.lower()]
    assert isinstance(t["consumerCount"], int)
    assert isinstance(t["consumerGroupCount"], int)


def test_show_properties_shape(flusso):
    (e,) = ksql(flusso, "SHOW PROPERTIES;")
    assert e["@type"] == "properties"
    assert isinstance(e["properties"], list)
    assert isinstance(e["overwrittenProperties"], list)
    assert isinstance(e["defaultProperties"], list)
    for p in e["properties"]:
        assert isinstance(p["name"], str) and isinstance(p["scope"], str)
        assert "value" in p


def test_show_properties_lists_server_and_overridden_properties(flusso):
    (e,) = ksql(flusso, "SHOW PROPERTIES;", earliest())
    props = {p["name"]: p for p in e["properties"]}
    assert "ksql.service.id" in props
    assert props["ksql.service.id"]["scope"] == "KSQL"
    assert props["ksql.streams.auto.offset.reset"]["value"] == "earliest"
    assert "ksql.streams.auto.offset.reset" in e["overwrittenProperties"]


def test_show_functions(flusso):
    (e,) = ksql(flusso, "SHOW FUNCTIONS;")
    assert e["@type"] == "function_names"
    by_name = {f["name"]: f for f in e["functions"]}
    for name in ("ABS", "CONCAT", "UCASE", "SUBSTRING"):
        assert by_name[name]["type"] == "SCALAR", by_name.get(name)
        assert "category" in by_name[name]
    assert list(by_name) == sorted(by_name)
    assert by_name["ABS"]["category"] == "MATHEMATICAL"
    assert by_name["FORMAT_DATE"]["category"] == "DATE / TIME"
    assert by_name["COUNT"] == {"name": "COUNT", "type": "AGGREGATE", "category": "AGGREGATE"}
    assert by_name["EXPLODE"] == {"name": "EXPLODE", "type": "TABLE", "category": "TABLE"}


def test_describe_function(flusso):
    (e,) = ksql(flusso, "DESCRIBE FUNCTION ABS;")
    assert e["@type"] == "describe_function"
    assert e["statementText"] == "DESCRIBE FUNCTION ABS;"
    assert e["name"] == "ABS"
    assert e["type"] == "SCALAR"
    assert e["path"] == "internal"
    assert e["description"].startswith("Returns the absolute value of its argument.")
    for key in ("author", "version"):
        assert isinstance(e[key], str)
    assert e["functions"], e
    for variant in e["functions"]:
        assert "arguments" in variant and "returnType" in variant
        assert isinstance(variant["description"], str)
        assert variant["argumentTypes"] == [a["type"] for a in variant["arguments"]]
    assert [(v["argumentTypes"], v["returnType"]) for v in e["functions"]] == [
        (["INT"], "INT"), (["BIGINT"], "BIGINT"), (["DOUBLE"], "DOUBLE"),
        (["DECIMAL"], "DECIMAL")]
    assert e["functions"][0]["arguments"] == [
        {"name": "val", "type": "INT", "description": "", "isVariadic": False}]

    # a variadic argument gives the type of each value
    (e,) = ksql(flusso, "describe function concat;")
    assert e["name"] == "CONCAT"
    assert {"name": "inputs", "type": "VARCHAR", "isVariadic": True,
            "description": "The varchar fields to concatenate"} in e["functions"][0]["arguments"]

    # an aggregate: several variants, its column arguments named val1, val2, ...
    (e,) = ksql(flusso, "DESCRIBE FUNCTION COUNT;")
    assert (e["name"], e["type"]) == ("COUNT", "AGGREGATE")
    assert e["functions"][0]["arguments"][0]["name"] == "val1"
    assert e["functions"][0]["returnType"] == "BIGINT"
    (e,) = ksql(flusso, "DESCRIBE FUNCTION sum;")
    assert e["type"] == "AGGREGATE"
    assert sorted(v["returnType"] for v in e["functions"]) == ["BIGINT", "DECIMAL", "DOUBLE", "INT"]
    (e,) = ksql(flusso, "DESCRIBE FUNCTION TOPK;")
    assert [a["name"] for a in e["functions"][0]["arguments"]] == ["val1", "val2", "k"]
    assert [a["isVariadic"] for a in e["functions"][0]["arguments"]] == [False, True, False]

    # a table function
    (e,) = ksql(flusso, "DESCRIBE FUNCTION EXPLODE;")
    assert (e["name"], e["type"]) == ("EXPLODE", "TABLE")
    assert e["functions"][0]["argumentTypes"] == ["ARRAY<T>"]
    assert e["functions"][0]["returnType"] == "T"

    # an unknown function: refused while validating the request, with the name as typed
    status, body = ksql_raw(flusso, "DESCRIBE FUNCTION no_such_fn;")
    assert_error(status, body, 40000)
    assert body == {"@type": "generic_error", "error_code": 40000,
                    "message": "Can't find any functions with the name 'no_such_fn'"}


def test_show_types(flusso):
    name = unique("ADDR")
    (c, e) = ksql(flusso, f"CREATE TYPE {name} AS STRUCT<street STRING, num INT>; SHOW TYPES;")
    assert_current_status(c, f"type/{name}/create")
    assert e["@type"] == "type_list"
    t = e["types"][name]
    assert t["type"] == "STRUCT"
    assert [f["name"] for f in t["fields"]] == ["STREET", "NUM"]
    assert t["fields"][1]["schema"]["type"] == "INTEGER"
    ksql(flusso, f"DROP TYPE {name};")


def test_describe_and_describe_extended(flusso):
    src = create_stream(flusso)
    sink = unique("SINK")
    (c,) = ksql(flusso, f"CREATE STREAM {sink} AS SELECT * FROM {src};")
    qid = c["commandStatus"]["queryId"]
    (e,) = ksql(flusso, f"DESCRIBE {src};")
    assert e["@type"] == "sourceDescription"
    d = e["sourceDescription"]
    assert d["name"] == src
    assert d["type"] == "STREAM"
    assert d["topic"] == src.lower()
    assert d["keyFormat"] == "KAFKA" and d["valueFormat"] == "JSON"
    assert d["extended"] is False
    assert [q["id"] for q in d["readQueries"]] == [qid]
    assert d["writeQueries"] == []
    fields = d["fields"]
    assert [f["name"] for f in fields] == ["ID", "NAME", "V"]
    assert fields[0]["type"] == "KEY"
    assert fields[0]["schema"] == {"type": "INTEGER", "fields": None, "memberSchema": None}
    assert fields[2]["schema"]["type"] == "DOUBLE"
    for key in ("windowType", "timestamp", "statistics", "errorStats", "partitions",
                "replication", "statement"):
        assert key in d, key
    (e,) = ksql(flusso, f"DESCRIBE {sink} EXTENDED;")
    d = e["sourceDescription"]
    assert d["extended"] is True
    assert [q["id"] for q in d["writeQueries"]] == [qid]
    assert d["partitions"] == 1


def test_describe_streams_lists_source_descriptions(flusso):
    stream = create_stream(flusso)
    (e,) = ksql(flusso, "SHOW STREAMS EXTENDED;")
    assert e["@type"] == "source_descriptions"
    assert stream in [d["name"] for d in e["sourceDescriptions"]]


def test_explain(flusso):
    src = create_stream(flusso)
    sink = unique("SINK")
    (c,) = ksql(flusso, f"CREATE STREAM {sink} AS SELECT ID, NAME FROM {src} WHERE V > 0;")
    qid = c["commandStatus"]["queryId"]
    (e,) = ksql(flusso, f"EXPLAIN {qid};")
    assert e["@type"] == "queryDescription"
    d = e["queryDescription"]
    assert d["id"] == qid
    assert sink in d["statementText"].upper()
    assert d["sources"] == [src]
    assert d["sinks"] == [sink]
    assert [f["name"] for f in d["fields"]] == ["ID", "NAME"]
    assert d["queryType"] == "PERSISTENT"
    assert d["state"] == "RUNNING"
    for key in ("topology", "executionPlan", "overriddenProperties", "queryErrors"):
        assert key in d, key


def test_failing_statement_in_a_batch_carries_the_entities_before(flusso):
    a = unique("A")
    stmt = (f"CREATE STREAM {a} (X INT) WITH (kafka_topic='{a.lower()}', value_format='JSON', "
            f"partitions=1);")
    status, body = ksql_raw(flusso, f"{stmt} SHOW STREAMS; {stmt}")
    assert_error(status, body, 40001)
    assert body["@type"] == "statement_error"
    assert "already exists" in body["message"]
    assert a in body["statementText"].upper()
    assert [x["@type"] for x in body["entities"]] == ["currentStatus", "streams"]
    assert body["entities"][0]["commandId"] == f"stream/{a}/create"


def test_syntax_error(flusso):
    status, body = ksql_raw(flusso, "SELEC 1;")
    assert_error(status, body, 40001)
    assert body["@type"] == "statement_error"
    assert "SELEC" in body["message"]
    assert body["entities"] == []


def test_unknown_source_error(flusso):
    status, body = ksql_raw(flusso, f"DESCRIBE {unique('NOPE')};")
    assert_error(status, body, 40001)


@pytest.mark.parametrize("sql", ["SELECT * FROM {s} EMIT CHANGES;", "PRINT '{t}';"])
def test_select_and_print_to_ksql_is_40002(flusso, sql):
    stream = create_stream(flusso)
    status, body = ksql_raw(flusso, sql.format(s=stream, t=stream.lower()))
    assert_error(status, body, 40002)
    assert "/query" in body["message"]


def test_session_variables(flusso):
    stream = create_stream(flusso)
    status, _, data = post_json(flusso, "/ksql", {"ksql": "DESCRIBE ${src};",
                                                  "sessionVariables": {"src": stream}})
    assert status == 200, data
    assert json.loads(data)[0]["sourceDescription"]["name"] == stream


# ---------------------------------------------------------------------------------------------
# §10.4: /query
# ---------------------------------------------------------------------------------------------

def test_query_push_rows_arrive_while_running(flusso):
    stream = create_stream(flusso)
    with Stream(flusso, "/query",
                {"ksql": f"SELECT * FROM {stream} EMIT CHANGES;", "streamsProperties": {}}) as s:
        assert s.status == 200
        assert s.headers.get("transfer-encoding") == "chunked"
        header = parse_streamed_line(s.line())["header"]
        assert header["queryId"]
        assert header["schema"] == "`ID` INTEGER, `NAME` STRING, `V` DOUBLE"
        for i in range(3):
            t0 = time.monotonic()
            insert(flusso, stream, (i, f"n{i}", i + 0.5))
            row = parse_streamed_line(s.line(timeout=5))
            assert time.monotonic() - t0 < 3.0
            assert row == {"row": {"columns": [i, f"n{i}", i + 0.5]}}


def test_query_limit_ends_with_final_message(flusso):
    stream = create_stream(flusso)
    insert(flusso, stream, (1, "a", 1.0), (2, "b", 2.0), (3, "c", 3.0))
    status, hdrs, data = post_json(flusso, "/query", {
        "ksql": f"SELECT ID, NAME FROM {stream} EMIT CHANGES LIMIT 2;",
        "streamsProperties": earliest()})
    assert status == 200
    body = json.loads(data)  # the whole stream is one JSON array
    assert body[0]["header"]["schema"] == "`ID` INTEGER, `NAME` STRING"
    assert body[1:] == [{"row": {"columns": [1, "a"]}}, {"row": {"columns": [2, "b"]}},
                        {"finalMessage": "Limit Reached"}]


def test_query_bad_sql(flusso):
    status, _, data = post_json(flusso, "/query", {"ksql": "SELECT * FROM;"})
    assert_error(status, json.loads(data), 40001)
    status, _, data = post_json(flusso, "/query", {"ksql": f"SELECT * FROM {unique('NO')} "
                                                           "EMIT CHANGES;"})
    assert_error(status, json.loads(data), 40001)


def test_query_refuses_ddl(flusso):
    status, _, data = post_json(flusso, "/query", {"ksql": "SHOW STREAMS;"})
    assert_error(status, json.loads(data))


def test_print(flusso):
    stream = create_stream(flusso)
    insert(flusso, stream, (7, "x", 1.5), (8, "y", 2.5), (9, "z", 3.5))
    status, _, data = post_json(flusso, "/query",
                                {"ksql": f"PRINT '{stream.lower()}' FROM BEGINNING LIMIT 2;"})
    assert status == 200
    lines = [l for l in data.decode().splitlines() if l.startswith("rowtime:")]
    assert len(lines) == 2
    assert re.match(r"rowtime: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{3} Z, key: 7, "
                    r"value: \{\"NAME\":\"x\",\"V\":1\.5\}, partition: 0$", lines[0]), lines[0]
    assert "key: 8" in lines[1]


def test_print_unknown_topic(flusso):
    status, _, data = post_json(flusso, "/query", {"ksql": f"PRINT 'no-{uuid.uuid4().hex}';"})
    assert_error(status, json.loads(data), 40001)


# ---------------------------------------------------------------------------------------------
# §10.5: /query-stream and /close-query
# ---------------------------------------------------------------------------------------------

def test_query_stream_delimited(flusso):
    stream = create_stream(flusso)
    insert(flusso, stream, (1, "a", 1.0), (2, "b", 2.0))
    status, hdrs, data = post_json(
        flusso, "/query-stream",
        {"sql": f"SELECT * FROM {stream} EMIT CHANGES LIMIT 2;", "properties": earliest()},
        headers={"Accept": "application/vnd.ksqlapi.delimited.v1"})
    assert status == 200
    assert hdrs["content-type"].startswith("application/vnd.ksqlapi.delimited.v1")
    lines = [json.loads(l) for l in data.decode().splitlines() if l.strip()]
    meta = lines[0]
    assert isinstance(meta["queryId"], str) and meta["queryId"]
    assert meta["columnNames"] == ["ID", "NAME", "V"]
    assert meta["columnTypes"] == ["INTEGER", "STRING", "DOUBLE"]
    assert lines[1:] == [[1, "a", 1.0], [2, "b", 2.0]]


def test_query_stream_delimited_is_the_default(flusso):
    stream = create_stream(flusso)
    insert(flusso, stream, (1, "a", 1.0))
    status, hdrs, data = request(
        flusso, "POST", "/query-stream",
        json.dumps({"sql": f"SELECT ID FROM {stream} EMIT CHANGES LIMIT 1;",
                    "properties": earliest()}))
    assert status == 200
    assert hdrs["content-type"].startswith("application/vnd.ksqlapi.delimited.v1")
    lines = [json.loads(l) for l in data.decode().splitlines() if l.strip()]
    assert lines[0]["columnNames"] == ["ID"]
    assert lines[1:] == [[1]]


def test_query_stream_json(flusso):
    stream = create_stream(flusso)
    insert(flusso, stream, (1, "a", 1.0), (2, "b", 2.0))
    status, hdrs, data = post_json(
        flusso, "/query-stream",
        {"sql": f"SELECT NAME, V FROM {stream} EMIT CHANGES LIMIT 2;", "properties": earliest()},
        headers={"Accept": "application/json"})
    assert status == 200
    assert hdrs["content-type"].startswith("application/json")
    body = json.loads(data)
    assert body[0]["columnNames"] == ["NAME", "V"]
    assert body[0]["columnTypes"] == ["STRING", "DOUBLE"]
    assert body[1:] == [["a", 1.0], ["b", 2.0]]


def test_query_stream_v1_json_is_streamed_rows(flusso):
    stream = create_stream(flusso)
    insert(flusso, stream, (1, "a", 1.0))
    status, hdrs, data = post_json(
        flusso, "/query-stream",
        {"sql": f"SELECT ID FROM {stream} EMIT CHANGES LIMIT 1;", "properties": earliest()},
        headers={"Accept": "application/vnd.ksql.v1+json"})
    assert status == 200
    body = json.loads(data)
    assert "header" in body[0]
    assert body[1] == {"row": {"columns": [1]}}


def test_query_stream_push_rows_arrive_while_running(flusso):
    stream = create_stream(flusso)
    with Stream(flusso, "/query-stream", {"sql": f"SELECT * FROM {stream} EMIT CHANGES;"}) as s:
        assert s.status == 200
        meta = json.loads(s.line())
        assert meta["columnNames"] == ["ID", "NAME", "V"]
        t0 = time.monotonic()
        insert(flusso, stream, (4, "d", 4.0))
        assert json.loads(s.line(timeout=5)) == [4, "d", 4.0]
        assert time.monotonic() - t0 < 3.0


def test_query_stream_errors(flusso):
    status, _, data = post_json(flusso, "/query-stream", {"sql": "SELECT FROM WHERE;"})
    assert_error(status, json.loads(data), 40001)
    stream = create_stream(flusso)
    status, _, data = post_json(flusso, "/query-stream", {"sql": f"DROP STREAM {stream};"})
    assert_error(status, json.loads(data))
    # ...and the stream was not dropped.
    ksql(flusso, f"DESCRIBE {stream};")


def test_query_stream_print_writes_text_lines(flusso):
    stream = create_stream(flusso)
    insert(flusso, stream, (1, "a", 1.0), (2, "b", 2.0))
    status, _, data = request(
        flusso, "POST", "/query-stream",
        json.dumps({"sql": f"PRINT '{stream.lower()}' FROM BEGINNING LIMIT 2;"}),
        {"Accept": "application/vnd.ksqlapi.delimited.v1"})
    assert status == 200
    lines = [l for l in data.decode().splitlines() if l.strip()]
    records = [l for l in lines if "partition:" in l]
    assert len(records) == 2
    for line in lines:
        assert not line.startswith(("{", '"')), line
    assert records[0].startswith("rowtime: ")


def test_query_stream_print_refuses_json(flusso):
    stream = create_stream(flusso)
    with Stream(flusso, "/query-stream",
                {"sql": f"PRINT '{stream.lower()}' FROM BEGINNING;"},
                headers={"Accept": "application/json"}, timeout=10) as s:
        assert s.status == 406


def test_close_query(flusso):
    stream = create_stream(flusso)
    before = metric(flusso, "flusso_push_queries_open")
    with Stream(flusso, "/query-stream", {"sql": f"SELECT * FROM {stream} EMIT CHANGES;"}) as s:
        qid = json.loads(s.line())["queryId"]
        assert metric(flusso, "flusso_push_queries_open") >= before + 1
        status, _, data = post_json(flusso, "/close-query", {"queryId": qid})
        assert status == 200, data
        assert data == b""
        # The response ends.
        assert s.line(timeout=5) == b""
    assert wait_for(lambda: metric(flusso, "flusso_push_queries_open") <= before, 5)
    # Closing it again: it is gone.
    status, _, data = post_json(flusso, "/close-query", {"queryId": qid})
    assert_error(status, json.loads(data), 40000)


def test_close_unknown_query(flusso):
    status, _, data = post_json(flusso, "/close-query", {"queryId": "no_such_query_1"})
    body = json.loads(data)
    assert_error(status, body, 40000)
    assert body["@type"] == "generic_error"
    assert "no_such_query_1" in body["message"]


def test_concurrent_prints_are_distinct_queries(flusso):
    stream = create_stream(flusso)
    insert(flusso, stream, (1, "a", 1.0))
    before = metric(flusso, "flusso_push_queries_open")
    body = {"ksql": f"PRINT '{stream.lower()}' FROM BEGINNING;"}
    with Stream(flusso, "/query", body) as a, Stream(flusso, "/query", body) as b:
        assert "partition:" in (a.line() + a.line() + a.line()).decode()
        assert "partition:" in (b.line() + b.line() + b.line()).decode()
        assert metric(flusso, "flusso_push_queries_open") == before + 2


def test_query_stream_over_http2(flusso):
    httpx = pytest.importorskip("httpx")
    stream = create_stream(flusso)
    insert(flusso, stream, (1, "a", 1.0), (2, "b", 2.0))
    with httpx.Client(http1=False, http2=True, timeout=TIMEOUT_S) as client:
        r = client.post(f"{flusso.http}/query-stream",
                        json={"sql": f"SELECT * FROM {stream} EMIT CHANGES LIMIT 2;",
                              "properties": earliest()})
        assert r.http_version == "HTTP/2"
        assert r.status_code == 200
        lines = [json.loads(l) for l in r.text.splitlines() if l.strip()]
        assert lines[0]["columnNames"] == ["ID", "NAME", "V"]
        assert lines[1:] == [[1, "a", 1.0], [2, "b", 2.0]]
        # A push query on one HTTP/2 stream, closed through another on the same connection.
        with client.stream("POST", f"{flusso.http}/query-stream",
                           json={"sql": f"SELECT * FROM {stream} EMIT CHANGES;"}) as push:
            lines = push.iter_lines()
            qid = json.loads(next(lines))["queryId"]
            insert(flusso, stream, (3, "c", 3.0))
            assert json.loads(next(lines)) == [3, "c", 3.0]
            closed = client.post(f"{flusso.http}/close-query", json={"queryId": qid})
            assert closed.status_code == 200
            assert [l for l in lines if l.strip()] == []


# ---------------------------------------------------------------------------------------------
# §10.6: /inserts-stream
# ---------------------------------------------------------------------------------------------

def test_inserts_stream_acks_and_bad_rows(flusso):
    stream = create_stream(flusso)
    rows = [
        {"ID": 1, "NAME": "a", "V": 1.0},
        {"ID": "not a number", "NAME": "b", "V": 2.0},
        {"id": 2, "name": "c", "v": 3.0},          # column names are case-insensitive
        [1, 2, 3],
        {"ID": 3, "NO_SUCH_COLUMN": 1},
        {"ID": 4, "NAME": "d", "V": 4.0},
    ]
    body = "\n".join([json.dumps({"target": stream.lower()})]
                     + [json.dumps(r) for r in rows]) + "\n"
    status, hdrs, data = request(flusso, "POST", "/inserts-stream", body,
                                 {"Content-Type": "application/vnd.ksqlapi.delimited.v1"})
    assert status == 200, data
    acks = [json.loads(l) for l in data.decode().splitlines() if l.strip()]
    assert sorted(a["seq"] for a in acks) == list(range(len(rows)))
    by_seq = {a["seq"]: a for a in acks}
    assert [by_seq[i]["status"] for i in range(len(rows))] == \
        ["ok", "error", "ok", "error", "error", "ok"]
    for i in (1, 3, 4):
        assert isinstance(by_seq[i]["error_code"], int), by_seq[i]
        assert isinstance(by_seq[i]["message"], str) and by_seq[i]["message"], by_seq[i]
    status, _, data = post_json(flusso, "/query", {
        "ksql": f"SELECT ID, NAME FROM {stream} EMIT CHANGES LIMIT 3;",
        "streamsProperties": earliest()})
    rows = [r["row"]["columns"] for r in json.loads(data) if "row" in r]
    assert rows == [[1, "a"], [2, "c"], [4, "d"]]


def test_inserts_stream_acks_while_the_body_is_still_arriving(flusso):
    """Chunked request body: each row is acked before the next one is sent."""
    stream = create_stream(flusso)
    sock = socket.create_connection(("127.0.0.1", flusso.http_port), timeout=10)
    try:
        sock.sendall(b"POST /inserts-stream HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/vnd.ksqlapi.delimited.v1\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")

        def chunk(data: bytes) -> bytes:
            return b"%x\r\n%s\r\n" % (len(data), data)

        sock.sendall(chunk(json.dumps({"target": stream}).encode() + b"\n"))
        f = sock.makefile("rb")
        status_line = f.readline()
        assert b" 200 " in status_line, status_line
        while f.readline() not in (b"\r\n", b""):
            pass

        def next_ack() -> dict:
            while True:
                size = int(f.readline().strip(), 16)
                data = f.read(size)
                f.readline()
                if data.strip():
                    return json.loads(data.decode().strip().splitlines()[0])

        for i in range(3):
            sock.sendall(chunk(json.dumps({"ID": i, "NAME": f"r{i}", "V": 0.5}).encode()
                               + b"\n"))
            assert next_ack() == {"status": "ok", "seq": i}
        sock.sendall(b"0\r\n\r\n")
        # The response ends once the request has.
        rest = b""
        while True:
            line = f.readline()
            rest += line
            if not line or rest.endswith(b"0\r\n\r\n"):
                break
        assert rest.endswith(b"0\r\n\r\n"), rest
    finally:
        sock.close()


@pytest.mark.parametrize("first", [
    b"",
    b"not json\n",
    b"[1, 2]\n",
    b'{"target": 42}\n',
    b'{"nope": "x"}\n',
])
def test_inserts_stream_bad_first_line(flusso, first):
    status, _, data = request(flusso, "POST", "/inserts-stream", first)
    assert_error(status, json.loads(data), 40000)
    assert_healthy(flusso)


def test_inserts_stream_unknown_target_and_table(flusso):
    status, _, data = request(flusso, "POST", "/inserts-stream",
                              json.dumps({"target": unique("NOPE")}) + "\n")
    assert_error(status, json.loads(data), 40000)
    table = unique("T")
    ksql(flusso, f"CREATE TABLE {table} (ID INT PRIMARY KEY, V STRING) WITH ("
                 f"kafka_topic='{table.lower()}', value_format='JSON', partitions=1);")
    status, _, data = request(flusso, "POST", "/inserts-stream",
                              json.dumps({"target": table}) + '\n{"ID": 1, "V": "x"}\n')
    assert_error(status, json.loads(data), 40000)


# ---------------------------------------------------------------------------------------------
# §10.7: /ws/query
# ---------------------------------------------------------------------------------------------

def ws_url(server, sql: str, props: dict | None = None) -> str:
    req = json.dumps({"ksql": sql, "streamsProperties": props or {}})
    return (f"ws://127.0.0.1:{server.http_port}/ws/query?"
            f"request={urllib.parse.quote(req)}&version=1")


def test_ws_query(flusso):
    ws_client = pytest.importorskip("websockets.sync.client")
    from websockets.exceptions import ConnectionClosedOK
    stream = create_stream(flusso)
    insert(flusso, stream, (1, "a", 1.0), (2, "b", 2.0))
    url = ws_url(flusso, f"SELECT * FROM {stream} EMIT CHANGES LIMIT 2;", earliest())
    with ws_client.connect(url, open_timeout=10) as ws:
        schema = json.loads(ws.recv(timeout=10))
        assert [f["name"] for f in schema] == ["ID", "NAME", "V"]
        assert schema[0]["schema"] == {"type": "INTEGER", "fields": None, "memberSchema": None}
        assert json.loads(ws.recv(timeout=10)) == {"row": {"columns": [1, "a", 1.0]}}
        assert json.loads(ws.recv(timeout=10)) == {"row": {"columns": [2, "b", 2.0]}}
        with pytest.raises(ConnectionClosedOK):
            ws.recv(timeout=10)
        assert ws.close_code == 1000


def test_ws_query_rows_arrive_while_running(flusso):
    ws_client = pytest.importorskip("websockets.sync.client")
    stream = create_stream(flusso)
    with ws_client.connect(ws_url(flusso, f"SELECT ID FROM {stream} EMIT CHANGES;"),
                           open_timeout=10, close_timeout=1) as ws:
        assert json.loads(ws.recv(timeout=10))[0]["name"] == "ID"
        for i in range(3):
            t0 = time.monotonic()
            insert(flusso, stream, (i, "e", 5.0))
            assert json.loads(ws.recv(timeout=5)) == {"row": {"columns": [i]}}
            assert time.monotonic() - t0 < 3.0


def test_ws_query_client_close_ends_the_query(flusso):
    ws_client = pytest.importorskip("websockets.sync.client")
    stream = create_stream(flusso)
    before = metric(flusso, "flusso_push_queries_open")
    with ws_client.connect(ws_url(flusso, f"SELECT ID FROM {stream} EMIT CHANGES;"),
                           open_timeout=10, close_timeout=2) as ws:
        assert json.loads(ws.recv(timeout=10))[0]["name"] == "ID"
        assert metric(flusso, "flusso_push_queries_open") == before + 1
        t0 = time.monotonic()
        ws.close()
        closed_in = time.monotonic() - t0
    gone = wait_for(lambda: metric(flusso, "flusso_push_queries_open") <= before, 5)
    assert closed_in < 1.5, f"close handshake took {closed_in:.1f}s"
    assert gone, "the push query outlived its WebSocket client"


def test_ws_query_bad_request_is_refused(flusso):
    """Bad SQL over /ws/query: never a 5xx, and the client learns why."""
    ws_client = pytest.importorskip("websockets.sync.client")
    from websockets.exceptions import ConnectionClosedError, InvalidStatus
    try:
        with ws_client.connect(ws_url(flusso, "SELEC 1;"), open_timeout=10) as ws:
            with pytest.raises(ConnectionClosedError):
                ws.recv(timeout=10)
            assert ws.close_code in (1003, 1011)
            assert ws.close_reason
    except InvalidStatus as e:
        assert 400 <= e.response.status_code < 500, e.response.status_code
        assert json.loads(e.response.body)["error_code"] == 40001


def test_ws_query_bad_sql_closes_with_1003(flusso):
    ws_client = pytest.importorskip("websockets.sync.client")
    from websockets.exceptions import ConnectionClosedError
    with ws_client.connect(ws_url(flusso, "SELEC 1;"), open_timeout=10) as ws:
        with pytest.raises(ConnectionClosedError):
            ws.recv(timeout=10)
        assert ws.close_code == 1003
        assert "SELEC" in ws.close_reason


# ---------------------------------------------------------------------------------------------
# HTTP abuse: bad bodies and content types, huge and slow bodies, vanishing clients
# ---------------------------------------------------------------------------------------------

SQL_FIELD = {"/ksql": "ksql", "/query": "ksql", "/query-stream": "sql", "/close-query": "queryId"}

BAD_BODIES = {
    "malformed": b'{"ksql": "SHOW STREAMS;"',
    "array": b'["SHOW STREAMS;"]',
    "null": b"null",
    "string": b'"SHOW STREAMS;"',
    "empty": b"",
    "not-utf8": b'{"ksql": "\xff\xfe"}',
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "missing-field": b"{}",
    "wrong-type": "number",
    "wrong-type-props": "props",
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
@pytest.mark.parametrize("path", list(SQL_FIELD))
def test_bad_bodies_are_400(flusso, path, case):
    field = SQL_FIELD[path]
    body = BAD_BODIES[case]
    if body == "number":
        body = json.dumps({field: 42}).encode()
    elif body == "props":
        if path == "/close-query":
            body = json.dumps({field: ["not", "a", "string"]}).encode()
        else:
            body = json.dumps({field: "SHOW STREAMS;", "streamsProperties": "earliest",
                               "properties": "earliest"}).encode()
    elif field != "ksql":
        body = body.replace(b'"ksql"', f'"{field}"'.encode())
    status, _, data = request(flusso, "POST", path, body,
                              {"Content-Type": "application/json"}, timeout=10)
    assert_error(status, json.loads(data), 40000)
    assert_healthy(flusso)


def test_request_content_type_is_not_required(flusso):
    # ksqlDB reads the body whatever its declared type.
    for ctype in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = {"Content-Type": ctype} if ctype else {}
        status, _, data = request(flusso, "POST", "/ksql",
                                  json.dumps({"ksql": "SHOW STREAMS;"}), headers)
        assert status == 200, (ctype, data)
        assert json.loads(data)[0]["@type"] == "streams"


def test_accept_with_weights(flusso):
    status, _, data = request(
        flusso, "POST", "/ksql", json.dumps({"ksql": "SHOW STREAMS;"}),
        {"Accept": "application/vnd.ksql.v1+json;q=0.9, application/json;q=0.5",
         "Content-Type": "application/json"})
    assert status == 200
    assert json.loads(data)[0]["@type"] == "streams"


def test_unacceptable_accept_is_406(flusso):
    status, _, _ = request(flusso, "POST", "/ksql", json.dumps({"ksql": "SHOW STREAMS;"}),
                           {"Accept": "text/html", "Content-Type": "application/json"})
    assert status == 406


def test_garbage_request_line(flusso):
    for garbage in (b"GARBAGE\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 10,
                    b"POST /ksql HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                    b"POST /ksql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"):
        with socket.create_connection(("127.0.0.1", flusso.http_port), timeout=10) as s:
            data = b""
            try:
                s.sendall(garbage)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may hang up at once
            try:
                while chunk := s.recv(65536):
                    data += chunk
            except OSError:
                pass
            if data:
                assert data.startswith(b"HTTP/1.1 4"), (garbage, data[:200])
        assert_healthy(flusso)


def send_huge(server, path: str, size: int, first: bytes, timeout: float):
    """Sends a ``size``-byte body while reading the answer; (status, body, seconds)."""
    sock = socket.create_connection(("127.0.0.1", server.http_port), timeout=timeout)
    received = bytearray()
    done = threading.Event()

    def reader():
        try:
            while not done.is_set():
                data = sock.recv(65536)
                if not data:
                    break
                received.extend(data)
                if b"\r\n\r\n" in received:
                    head, _, rest = bytes(received).partition(b"\r\n\r\n")
                    m = re.search(rb"content-length: (\d+)", head, re.I)
                    if m and len(rest) >= int(m.group(1)):
                        break
        except OSError:
            pass

    t = threading.Thread(target=reader, daemon=True)
    start = time.monotonic()
    t.start()
    try:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode())
        sent = 0
        block = first + b"a" * (1 << 20)
        while sent < size and time.monotonic() - start < timeout:
            part = block[: min(len(block), size - sent)]
            sock.sendall(part)
            sent += len(part)
            block = b"a" * (1 << 20)
            if received:
                break
    except OSError:
        pass  # the server may stop reading and close once it has answered
    t.join(max(0.1, timeout - (time.monotonic() - start)))
    elapsed = time.monotonic() - start
    done.set()
    sock.close()
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else None
    return status, body, elapsed


HUGE = 50 * 1024 * 1024


@pytest.mark.parametrize("path", ["/ksql", "/query", "/query-stream", "/close-query"])
def test_huge_body_is_refused(flusso, path):
    status, body, elapsed = send_huge(flusso, path, HUGE, b'{"ksql":"', timeout=20)
    assert status in (400, 413), (status, body[:300])
    assert body and json.loads(body)["error_code"] // 100 == status
    assert elapsed < 10
    assert_healthy(flusso)


def test_inserts_stream_huge_line_is_refused(flusso):
    status, body, elapsed = send_huge(flusso, "/inserts-stream", HUGE, b'{"target":"', timeout=6)
    assert status in (400, 413), (status, body[:300], elapsed)
    assert elapsed < 5
    assert_healthy(flusso)


def test_inserts_stream_many_rows(flusso):
    """A big but well-formed stream of rows (about 5 MB) is taken in full."""
    stream = create_stream(flusso)
    n = 50_000
    body = (json.dumps({"target": stream}) + "\n"
            + "".join(json.dumps({"ID": i, "NAME": "x" * 64, "V": 1.0}) + "\n"
                      for i in range(n))).encode()
    status, _, data = request(flusso, "POST", "/inserts-stream", body, timeout=120)
    assert status == 200
    acks = [json.loads(l) for l in data.decode().splitlines() if l.strip()]
    assert len(acks) == n
    assert all(a["status"] == "ok" for a in acks)
    assert_healthy(flusso)


def slow_request(server, raw: bytes, delay: float) -> bytes:
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=30) as s:
        for i in range(len(raw)):
            s.sendall(raw[i:i + 1])
            time.sleep(delay)
        data = b""
        while b"\r\n\r\n" not in data or not _complete(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"content-length: (\d+)", head, re.I)
    if m:
        return len(body) >= int(m.group(1))
    return body.endswith(b"0\r\n\r\n")


def test_slow_client_byte_by_byte(flusso):
    body = json.dumps({"ksql": "SHOW STREAMS;"}).encode()
    raw = (b"POST /ksql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    data = slow_request(flusso, raw, 0.01)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), data[:300]
    assert json.loads(rest)[0]["@type"] == "streams"
    assert_healthy(flusso)


def test_slow_client_inserts_stream(flusso):
    stream = create_stream(flusso)
    body = (json.dumps({"target": stream}) + "\n"
            + json.dumps({"ID": 1, "NAME": "slow", "V": 1.0}) + "\n").encode()
    raw = (b"POST /inserts-stream HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
           % (len(body), body))
    data = slow_request(flusso, raw, 0.01)
    assert data.startswith(b"HTTP/1.1 200"), data[:300]
    assert b'{"status":"ok","seq":0}' in data


@pytest.mark.parametrize("path", ["/query", "/query-stream"])
def test_client_disconnects_mid_stream(flusso, path):
    stream = create_stream(flusso)
    before = metric(flusso, "flusso_push_queries_open")
    field = "ksql" if path == "/query" else "sql"
    s = Stream(flusso, path, {field: f"SELECT * FROM {stream} EMIT CHANGES;"})
    s.line()
    insert(flusso, stream, (1, "a", 1.0))
    s.line()
    assert metric(flusso, "flusso_push_queries_open") >= before + 1
    s.abort()
    # Rows keep coming after the client left.
    insert(flusso, stream, (2, "b", 2.0), (3, "c", 3.0))
    assert wait_for(lambda: metric(flusso, "flusso_push_queries_open") <= before, 5), \
        "the push query outlived its client"
    assert_healthy(flusso)


def test_client_disconnects_from_an_idle_push_query(flusso):
    """No row is ever produced after the client leaves: the query must still end."""
    stream = create_stream(flusso)
    before = metric(flusso, "flusso_push_queries_open")
    s = Stream(flusso, "/query-stream", {"sql": f"SELECT * FROM {stream} EMIT CHANGES;"})
    s.line()
    s.abort()
    assert wait_for(lambda: metric(flusso, "flusso_push_queries_open") <= before, 5), \
        "an idle push query outlived its client"
    assert_healthy(flusso)


# ---------------------------------------------------------------------------------------------
# Concurrency
# ---------------------------------------------------------------------------------------------

async def _open_push_queries(port: int, sql: str, n: int):
    """``n`` push queries on /query-stream, each on its own connection, each read up to its
    metadata line: [(reader, writer)] or exceptions."""
    body = json.dumps({"sql": sql}).encode()
    raw = (b"POST /query-stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(raw)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        await _read_until(reader, b"columnNames")
        return reader, writer

    return await asyncio.wait_for(
        asyncio.gather(*(one() for _ in range(n)), return_exceptions=True), 60)


async def _read_until(reader, marker: bytes) -> bytes:
    data = b""
    while marker not in data or not data.endswith(b"\n"):
        chunk = await reader.read(4096)
        assert chunk, data
        data += chunk
    return data


def _abort_all(writers):
    for w in writers:
        sock = w.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        w.transport.abort()


def test_200_push_queries_then_all_dropped(flusso_fresh):
    server = flusso_fresh
    stream = create_stream(server)
    n = 200

    async def scenario():
        results = await _open_push_queries(server.http_port,
                                           f"SELECT * FROM {stream} EMIT CHANGES;", n)
        opened = [r for r in results if not isinstance(r, BaseException)]
        errors = [r for r in results if isinstance(r, BaseException)]
        try:
            assert not errors, errors[:3]
            assert len(opened) == n
            open_now = await asyncio.to_thread(metric, server, "flusso_push_queries_open")
            assert open_now == n
            # A row reaches every one of them.
            await asyncio.to_thread(insert, server, stream, (1, "everyone", 1.0))
            await asyncio.wait_for(asyncio.gather(
                *(_read_until(reader, b"everyone") for reader, _ in opened)), 30)
            await asyncio.to_thread(assert_healthy, server)
        finally:
            _abort_all([w for _, w in opened])
            await asyncio.sleep(0)

    asyncio.run(scenario())
    assert wait_for(lambda: metric(server, "flusso_push_queries_open") == 0, 5), \
        f"push queries still open: {metric(server, 'flusso_push_queries_open')}"
    assert_healthy(server)


# ---------------------------------------------------------------------------------------------
# /metrics
# ---------------------------------------------------------------------------------------------

_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    rf"(?P<labels>\{{(?:{_LABEL}(?:,{_LABEL})*,?)?\}})?"
    r" (?P<value>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN)"
    r"(?: -?\d+)?$")
TYPE_LINE = re.compile(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|"
                       r"untyped)$")
HELP_LINE = re.compile(r"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$")


def parse_prometheus(text: str) -> dict:
    """{(name, labels): value}, checking the text format on the way."""
    types: dict[str, str] = {}
    samples: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            if line.startswith("# TYPE"):
                m = TYPE_LINE.match(line)
                assert m, f"bad TYPE line: {line!r}"
                assert m.group(1) not in types, f"TYPE twice: {line!r}"
                types[m.group(1)] = m.group(2)
            elif line.startswith("# HELP"):
                assert HELP_LINE.match(line), f"bad HELP line: {line!r}"
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample: {line!r}"
        name, labels = m.group("name"), m.group("labels") or ""
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[: -len(suffix)] in types:
                family = name[: -len(suffix)]
        assert family in types, f"sample without a TYPE: {line!r}"
        assert (name, labels) not in samples, f"duplicate series: {line!r}"
        samples[(name, labels)] = float(m.group("value"))
    return samples


def test_metrics_is_prometheus_text(flusso):
    ksql(flusso, "SHOW STREAMS;")
    request(flusso, "GET", "/no/such/route")
    status, hdrs, data = request(flusso, "GET", "/metrics")
    assert status == 200
    assert hdrs["content-type"].startswith("text/plain")
    samples = parse_prometheus(data.decode())
    names = {n for n, _ in samples}
    assert "flusso_push_queries_open" in names
    assert "flusso_http_request_duration_seconds_count" in names


def test_metrics_per_query_counters(flusso):
    src = create_stream(flusso)
    sink = unique("SINK")
    (c,) = ksql(flusso, f"CREATE STREAM {sink} AS SELECT * FROM {src} WHERE V > 1;")
    qid = c["commandStatus"]["queryId"]
    insert(flusso, src, (1, "a", 0.5), (2, "b", 1.5), (3, "c", 2.5))
    label = f'{{query="{qid}"}}'

    def counters():
        _, _, data = request(flusso, "GET", "/metrics")
        samples = parse_prometheus(data.decode())
        read = samples.get(("flusso_query_records_in_total", label))
        written = samples.get(("flusso_query_records_out_total", label))
        if read == 3 and written == 2:
            return samples
        return None

    samples = wait_for(counters, 15)
    assert samples, "per-query counters did not reach in=3, out=2"
    assert ("flusso_query_errors_total", label) in samples
    assert ("flusso_query_lag_records", label) in samples


# ---------------------------------------------------------------------------------------------
# Shutdown with clients still connected
# ---------------------------------------------------------------------------------------------

STOP_WITHIN_S = 5


def _stops_promptly(server) -> float:
    t0 = time.monotonic()
    server.stop(timeout=STOP_WITHIN_S)   # raises ServerError (and kills) if it hangs
    return time.monotonic() - t0


def test_sigterm_with_an_idle_http1_connection(flusso_fresh):
    conn = http.client.HTTPConnection("127.0.0.1", flusso_fresh.http_port, timeout=10)
    try:
        conn.request("GET", "/info")
        assert conn.getresponse().read()
        # The keep-alive connection stays open, idle.
        assert _stops_promptly(flusso_fresh) < STOP_WITHIN_S
    finally:
        conn.close()


def test_sigterm_with_an_open_push_query(flusso_fresh):
    stream = create_stream(flusso_fresh)
    with Stream(flusso_fresh, "/query-stream",
                {"sql": f"SELECT * FROM {stream} EMIT CHANGES;"}) as s:
        s.line()
        assert _stops_promptly(flusso_fresh) < STOP_WITHIN_S
        # The client sees its response end.
        assert s.line(timeout=5) == b""


def test_sigterm_with_an_idle_http2_connection(flusso_fresh):
    httpx = pytest.importorskip("httpx")
    client = httpx.Client(http1=False, http2=True, timeout=10)
    try:
        r = client.get(f"{flusso_fresh.http}/info")
        assert r.http_version == "HTTP/2" and r.status_code == 200
        assert _stops_promptly(flusso_fresh) < STOP_WITHIN_S
    finally:
        client.close()


def test_pull_query_aggregates_and_joins_tables(flusso):
    """Pull queries beyond ksqlDB's: an aggregation over a table and a join of two tables, run
    over the tables' current rows, in /query-stream's and /query's row formats."""
    s, d = create_stream(flusso), create_stream(flusso)
    t, names = unique("T"), unique("N")
    ksql(flusso, f"CREATE TABLE {t} AS SELECT ID, LATEST_BY_OFFSET(NAME) AS NAME, "
                 f"LATEST_BY_OFFSET(V) AS V FROM {s} GROUP BY ID;", earliest())
    ksql(flusso, f"CREATE TABLE {names} AS SELECT ID, LATEST_BY_OFFSET(NAME) AS LABEL "
                 f"FROM {d} GROUP BY ID;", earliest())
    insert(flusso, s, (1, "a", 1.5), (2, "a", 2.5), (3, "b", 4.0))
    insert(flusso, d, (1, "one", 0.0), (3, "three", 0.0))

    def stream_rows(sql):
        status, _, body = request(flusso, "POST", "/query-stream", json.dumps({"sql": sql}),
                                  {"Content-Type": "application/json"})
        assert status == 200, body
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        return lines[0], sorted(lines[1:])

    def counted():
        header, rows = stream_rows(f"SELECT NAME, COUNT(*) AS N, SUM(V) AS TOTAL FROM {t} GROUP BY NAME;")
        return rows == [["a", 2, 4.0], ["b", 1, 4.0]] and header

    header = wait_for(counted)
    assert header, stream_rows(f"SELECT NAME, COUNT(*) FROM {t} GROUP BY NAME;")
    assert header["columnNames"] == ["NAME", "N", "TOTAL"]
    assert header["columnTypes"] == ["STRING", "BIGINT", "DOUBLE"]

    def joined():
        _, rows = stream_rows(f"SELECT a.ID, b.LABEL, a.V FROM {t} a JOIN {names} b ON a.ID = b.ID;")
        return rows == [[1, "one", 1.5], [3, "three", 4.0]]

    assert wait_for(joined)
    status, _, body = post_json(flusso, "/query", {"ksql": f"SELECT COUNT(*) AS C FROM {t};"})
    assert status == 200
    rows = json.loads(body)
    assert rows[0]["header"]["schema"] == "`C` BIGINT"
    assert rows[1:] == [{"row": {"columns": [3]}}]
