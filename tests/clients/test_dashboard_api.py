"""The dashboard's routes as a client sees them.

- ``GET /`` answers the page to a browser and keeps ksqlDB's redirect to ``/info`` for others;
  ``/web/*`` files have their content types, an ETag and a 304 when unchanged;
- ``/api/dashboards``: saved, listed, read, replaced, deleted; bad input is a 4xx with
  ksqlDB's error shape, never a 500; dashboards survive a restart (the compacted topic
  ``_flusso_dashboards``);
- ``/api/topics``: partitions with their offsets; records of a partition from an offset or
  from the end, keys, values and headers in base64.
"""

from __future__ import annotations

import base64
import http.client
import json
import uuid

TIMEOUT_S = 30


def request(server, method: str, path: str, body=None, headers: dict | None = None):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=TIMEOUT_S)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def ksql(server, sql: str):
    status, _, data = request(server, "POST", "/ksql", {"ksql": sql, "streamsProperties": {}},
                              {"Content-Type": "application/json"})
    assert status == 200, data
    return json.loads(data)


def assert_error(status: int, data: bytes, expect_status: int):
    assert status == expect_status, (status, data)
    body = json.loads(data)
    assert body["@type"] == "generic_error"
    assert body["error_code"] == expect_status * 100
    assert body["message"]


def test_root_serves_the_page_to_browsers(flusso):
    status, hdrs, data = request(flusso, "GET", "/", headers={"Accept": "text/html,*/*;q=0.8"})
    assert status == 200
    assert hdrs["content-type"].startswith("text/html")
    assert b'<script type="module" src="/web/js/main.js">' in data
    status, hdrs, _ = request(flusso, "GET", "/", headers={"Accept": "application/json"})
    assert status == 307 and hdrs["location"].endswith("/info")


def test_web_files_have_types_and_etags(flusso):
    for path, ctype in [("/web/app.css", "text/css"), ("/web/js/main.js", "text/javascript"),
                        ("/web/vendor/uplot-1.6.32/uPlot.esm.js", "text/javascript"),
                        ("/web/favicon.svg", "image/svg+xml")]:
        status, hdrs, data = request(flusso, "GET", path)
        assert status == 200, path
        assert hdrs["content-type"].startswith(ctype), (path, hdrs["content-type"])
        assert data
        etag = hdrs["etag"]
        assert "cache-control" in hdrs
        status, _, data = request(flusso, "GET", path, headers={"If-None-Match": etag})
        assert status == 304 and data == b""
    for path in ["/web/nope.js", "/web/../Cargo.toml", "/web/.hidden"]:
        status, _, _ = request(flusso, "GET", path)
        assert status == 404, path


def test_dashboards_are_saved_listed_replaced_and_deleted(flusso):
    did = "t-" + uuid.uuid4().hex[:10]
    doc = {"title": "Sales", "panels": [{"id": "p1", "title": "Orders", "sql": "SELECT * FROM t;",
                                         "kind": "number", "interval": 5}]}
    status, _, data = request(flusso, "PUT", f"/api/dashboards/{did}", doc)
    assert status == 200, data
    saved = json.loads(data)
    assert saved["id"] == did and saved["title"] == "Sales" and saved["updated"] > 0
    status, _, data = request(flusso, "GET", f"/api/dashboards/{did}")
    assert status == 200 and json.loads(data)["panels"] == doc["panels"]
    doc["title"] = "Sales (EU)"
    status, _, _ = request(flusso, "PUT", f"/api/dashboards/{did}", doc)
    assert status == 200
    status, _, data = request(flusso, "GET", "/api/dashboards")
    listed = {d["id"]: d for d in json.loads(data)["dashboards"]}
    assert listed[did]["title"] == "Sales (EU)" and listed[did]["panels"] == 1
    status, _, data = request(flusso, "DELETE", f"/api/dashboards/{did}")
    assert status == 200 and json.loads(data) == {"deleted": did}
    status, _, data = request(flusso, "GET", f"/api/dashboards/{did}")
    assert_error(status, data, 404)
    status, _, data = request(flusso, "DELETE", f"/api/dashboards/{did}")
    assert_error(status, data, 404)


def test_bad_dashboards_are_refused_with_4xx(flusso):
    good = {"title": "t", "panels": []}
    cases = [
        ("/api/dashboards/has%20space", good),
        ("/api/dashboards/" + "x" * 65, good),
        ("/api/dashboards/ok", "not json"),
        ("/api/dashboards/ok", []),
        ("/api/dashboards/ok", {"panels": []}),
        ("/api/dashboards/ok", {"title": "", "panels": []}),
        ("/api/dashboards/ok", {"title": "t", "panels": {}}),
        ("/api/dashboards/ok", {"title": "t", "panels": [{"title": "no sql"}]}),
        ("/api/dashboards/ok", {"title": "t", "panels": [], "big": "x" * 300_000}),
    ]
    for path, body in cases:
        status, _, data = request(flusso, "PUT", path, body)
        assert_error(status, data, 400)
    status, _, _ = request(flusso, "POST", "/api/dashboards/ok", good)
    assert status == 405
    status, _, _ = request(flusso, "GET", "/api/dashboards/ok")
    assert status == 404


def test_dashboards_survive_a_restart(flusso_fresh):
    server = flusso_fresh
    for i in range(3):
        status, _, _ = request(server, "PUT", f"/api/dashboards/d{i}", {"title": f"D{i}", "panels": []})
        assert status == 200
    request(server, "PUT", "/api/dashboards/d1", {"title": "D1 again", "panels": []})
    request(server, "DELETE", "/api/dashboards/d2")
    server.restart()
    status, _, data = request(server, "GET", "/api/dashboards")
    titles = sorted(d["title"] for d in json.loads(data)["dashboards"])
    assert titles == ["D0", "D1 again"]
    # The internal topic is not listed by SHOW TOPICS.
    topics = [t["name"] for t in ksql(server, "SHOW TOPICS;")[0]["topics"]]
    assert "_flusso_dashboards" not in topics


def test_topic_records_by_partition_and_offset(flusso):
    name = "dash_" + uuid.uuid4().hex[:8]
    ksql(flusso, f"CREATE STREAM {name} (k VARCHAR KEY, v INT) WITH (kafka_topic='{name}', "
                 "partitions=2, value_format='JSON');")
    ksql(flusso, "\n".join(f"INSERT INTO {name} (k, v) VALUES ('key{i}', {i});" for i in range(30)))
    status, _, data = request(flusso, "GET", "/api/topics")
    topic = next(t for t in json.loads(data)["topics"] if t["name"] == name)
    assert not topic["internal"] and len(topic["partitions"]) == 2
    total = sum(p["end"] - p["start"] for p in topic["partitions"])
    assert total == 30
    seen = []
    for p in topic["partitions"]:
        status, _, data = request(flusso, "GET", f"/api/topics/{name}/records?partition={p['partition']}&offset=0&limit=1000")
        assert status == 200
        page = json.loads(data)
        assert page["end"] == p["end"] and page["next"] == p["end"]
        for r in page["records"]:
            key = base64.b64decode(r["key"]).decode()
            value = json.loads(base64.b64decode(r["value"]))
            assert key == f"key{value['V']}" and r["timestamp"] > 0 and r["headers"] == []
            seen.append(value["V"])
    assert sorted(seen) == list(range(30))
    busiest = max(topic["partitions"], key=lambda p: p["end"])
    status, _, data = request(flusso, "GET", f"/api/topics/{name}/records?partition={busiest['partition']}&limit=3")
    page = json.loads(data)
    assert [r["offset"] for r in page["records"]] == list(range(busiest["end"] - 3, busiest["end"]))
    status, _, data = request(flusso, "GET", f"/api/topics/{name}/records?partition={busiest['partition']}&offset=1&limit=2")
    assert [r["offset"] for r in json.loads(data)["records"]] == [1, 2]
    for query, code in [("partition=9", 400), ("partition=x", 400), ("limit=0", 400),
                        ("limit=5000", 400), ("offset=-1", 400)]:
        status, _, data = request(flusso, "GET", f"/api/topics/{name}/records?{query}")
        assert_error(status, data, code)
    status, _, data = request(flusso, "GET", "/api/topics/no_such_topic_here/records")
    assert_error(status, data, 404)
