//! The shell end to end against a fake HTTP server (plain sockets): what it sends, what it prints.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::shell::{caret, Options, Out, OutputFormat, Shell};

type Handler = dyn Fn(&str, &Value, &mut TcpStream) + Send + Sync;

struct Fake {
    url: String,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
    /// Tells when a streamed response's connection was closed by the client.
    closed: mpsc::Receiver<()>,
}

fn fake(handler: impl Fn(&str, &Value, &mut TcpStream) + Send + Sync + 'static) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    let handler: Arc<Handler> = Arc::new(handler);
    let (tx, closed) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let seen = seen.clone();
            let handler = handler.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                    return;
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .to_string();
                let mut length = 0;
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    if h == "\r\n" || h.is_empty() {
                        break;
                    }
                    let lower = h.to_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                seen.lock().unwrap().push((path.clone(), body.clone()));
                handler(&path, &body, &mut conn);
                // Wait for the client to close (a streamed response left open).
                let mut buf = [0u8; 64];
                while let Ok(n) = reader.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                }
                let _ = tx.send(());
            });
        }
    });
    Fake {
        url,
        requests,
        closed,
    }
}

fn respond(conn: &mut TcpStream, status: u16, body: &Value) {
    let text = body.to_string();
    let _ = write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = conn.shutdown(std::net::Shutdown::Write);
}

fn start_chunked(conn: &mut TcpStream) {
    let _ = write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.ksql.v1+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
}

fn chunk(conn: &mut TcpStream, data: &str) {
    let _ = write!(conn, "{:x}\r\n{data}\r\n", data.len());
    let _ = conn.flush();
}

fn end_chunks(conn: &mut TcpStream) {
    let _ = write!(conn, "0\r\n\r\n");
    let _ = conn.shutdown(std::net::Shutdown::Write);
}

fn options(url: &str) -> Options {
    Options {
        server: url.to_string(),
        auth: None,
        output: OutputFormat::Tabular,
        query_row_limit: None,
        query_timeout: None,
        properties: Vec::new(),
        variables: Vec::new(),
    }
}

fn shell(options: Options) -> Shell {
    let mut s = Shell::new(options, Out::captured()).unwrap();
    s.set_width(80);
    s
}

fn status(text: &str, message: &str) -> Value {
    json!([{"@type": "currentStatus", "statementText": text, "commandId": "stream/S/create",
        "commandStatus": {"status": "SUCCESS", "message": message}, "commandSequenceNumber": 4,
        "warnings": []}])
}

#[test]
fn statements_go_to_ksql_with_the_sessions_properties_and_variables() {
    let server = fake(|path, body, conn| {
        assert_eq!(path, "/ksql");
        let text = body["ksql"].as_str().unwrap();
        respond(conn, 200, &status(text, "Stream created"));
    });
    let mut sh = shell(options(&server.url));
    assert!(sh.run_text("SET 'auto.offset.reset'='earliest';\nDEFINE t = 'orders';"));
    assert!(sh.run_text(
        "CREATE STREAM s (id INT KEY, name STRING) -- comment\n WITH (kafka_topic='s;x');"
    ));
    let out = sh.out.take_captured();
    assert!(out.contains("Successfully changed local property 'auto.offset.reset' to 'earliest'"));
    assert!(
        out.contains("\n Message        \n----------------\n Stream created \n"),
        "{out}"
    );
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let body = &requests[0].1;
    assert_eq!(
        body["ksql"],
        json!("CREATE STREAM s (id INT KEY, name STRING) \n WITH (kafka_topic='s;x');")
    );
    assert_eq!(
        body["streamsProperties"],
        json!({"auto.offset.reset": "earliest"})
    );
    assert_eq!(body["sessionVariables"], json!({"t": "orders"}));
    assert!(body.get("commandSequenceNumber").is_none());

    // The next request waits for the last command (request-pipelining is OFF).
    assert!(sh.run_text("DROP STREAM s;"));
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests[1].1["commandSequenceNumber"], json!(4));
    assert!(sh.run_text("request-pipelining ON; UNSET 'auto.offset.reset'; UNDEFINE t;"));
    assert!(sh.run_text("DROP STREAM s;"));
    let requests = server.requests.lock().unwrap().clone();
    assert!(requests[2].1.get("commandSequenceNumber").is_none());
    assert_eq!(requests[2].1["streamsProperties"], json!({}));
    assert_eq!(requests[2].1["sessionVariables"], json!({}));
}

#[test]
fn consecutive_statements_are_one_request_and_errors_show_a_caret() {
    let server = fake(|_, body, conn| {
        let text = body["ksql"].as_str().unwrap();
        if text.contains("oops") {
            respond(
                conn,
                400,
                &json!({"@type": "statement_error", "error_code": 40001,
                    "message": "line 2:8: Syntax Error: expected a statement", "statementText": text,
                    "entities": []}),
            );
        } else {
            let mut entities = status("a", "one");
            entities
                .as_array_mut()
                .unwrap()
                .push(status("b", "two")[0].clone());
            respond(conn, 200, &entities);
        }
    });
    let mut sh = shell(options(&server.url));
    assert!(sh.run_text("CREATE A; CREATE B;"));
    let out = sh.out.take_captured();
    assert!(out.starts_with("\na\n Message \n"), "{out}");
    assert!(out.contains("\nb\n Message \n"));
    assert_eq!(
        server.requests.lock().unwrap()[0].1["ksql"],
        json!("CREATE A;\nCREATE B;")
    );

    assert!(!sh.run_text("SHOW STREAMS;\nCREATE oops;"));
    let out = sh.out.take_captured();
    assert_eq!(
        out,
        "line 2:8: Syntax Error: expected a statement\nCREATE oops;\n       ^\n"
    );
}

#[test]
fn unreachable_server_is_a_warning() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let mut sh = shell(options(&url));
    assert!(!sh.check_server());
    assert!(!sh.run_text("SHOW STREAMS;"));
    let out = sh.out.take_captured();
    let expected = format!(
        "Could not reach the Flusso server at {url}: connection refused. Start it with `flusso`, or pass --server URL.\n"
    );
    assert_eq!(out, format!("{expected}{expected}"));
    // The shell's own commands still work.
    assert!(sh.run_text("output JSON"));
    assert_eq!(sh.out.take_captured(), "Output format set to JSON\n");
}

#[test]
fn push_query_rows_print_as_they_arrive_and_limit_reached_ends_it() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let server = fake(move |path, _, conn| {
        assert_eq!(path, "/query");
        start_chunked(conn);
        chunk(
            conn,
            "[{\"header\":{\"queryId\":\"transient_S_1\",\"schema\":\"`ID` INTEGER, `NAME` STRING\"}},\n",
        );
        chunk(conn, "{\"row\":{\"columns\":[1,\"a\"]}},\n{\"row\":{\"col");
        // The rest comes only once the test has seen the first row.
        go_rx
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(10))
            .unwrap();
        chunk(conn, "umns\":[2,null],\"tombstone\":true}},\n");
        chunk(conn, "{\"finalMessage\":\"Limit Reached\"}]");
        end_chunks(conn);
    });
    let mut sh = shell(options(&server.url));
    sh.set_width(30);
    let t = std::thread::spawn(move || {
        let ok = sh.run_text("SELECT * FROM s EMIT CHANGES LIMIT 2;");
        (ok, sh.out.take_captured())
    });
    std::thread::sleep(Duration::from_millis(300));
    go_tx.send(()).unwrap();
    let (ok, out) = t.join().unwrap();
    assert!(ok);
    let expected = concat!(
        "+-------------+-------------+\n",
        "|ID           |NAME         |\n",
        "+-------------+-------------+\n",
        "|1            |a            |\n",
        "|2            |<TOMBSTONE>  |\n",
        "+-------------+-------------+\n",
        "Limit Reached\n",
        "Query terminated\n",
    );
    assert_eq!(out, expected);
}

#[test]
fn row_limit_closes_the_connection() {
    let server = fake(|_, _, conn| {
        start_chunked(conn);
        chunk(
            conn,
            "[{\"header\":{\"queryId\":\"q\",\"schema\":\"`V` BIGINT\"}},\n{\"row\":{\"columns\":[1]}},\n{\"row\":{\"columns\":[2]}},\n",
        );
        // Left open: a push query that would go on forever.
    });
    let mut o = options(&server.url);
    o.query_row_limit = Some(1);
    let mut sh = shell(o);
    assert!(sh.run_text("select * from s emit changes;"));
    let out = sh.out.take_captured();
    assert!(out.contains("|1 "), "{out}");
    assert!(!out.contains("|2 "), "{out}");
    assert!(out.ends_with("Query terminated\n"));
    server
        .closed
        .recv_timeout(Duration::from_secs(10))
        .expect("the shell closed the query's connection");
}

#[test]
fn query_timeout_and_errors_in_the_stream() {
    let server = fake(|_, body, conn| {
        start_chunked(conn);
        if body["ksql"].as_str().unwrap().contains("bad") {
            chunk(
                conn,
                "[{\"errorMessage\":{\"@type\":\"generic_error\",\"error_code\":50000,\"message\":\"boom\"}}]",
            );
            end_chunks(conn);
        } else {
            chunk(
                conn,
                "[{\"header\":{\"queryId\":\"q\",\"schema\":\"`V` BIGINT\"}},\n",
            );
        }
    });
    let mut o = options(&server.url);
    o.query_timeout = Some(Duration::from_millis(200));
    let mut sh = shell(o);
    assert!(sh.run_text("SELECT * FROM s EMIT CHANGES;"));
    assert!(sh.out.take_captured().ends_with("+\nQuery terminated\n"));
    assert!(!sh.run_text("SELECT bad FROM s EMIT CHANGES;"));
    assert_eq!(sh.out.take_captured(), "boom\nQuery terminated\n");
}

#[test]
fn print_is_text() {
    let server = fake(|_, _, conn| {
        start_chunked(conn);
        chunk(conn, "Key format: KAFKA_INT\nValue format: JSON\nrowtime: 2024/01/01 00:00:00.000 Z, key: 1, value: {\"A\":1}, partition: 0\n");
        chunk(
            conn,
            "\nrowtime: 2024/01/01 00:00:00.001 Z, key: 2, value: {\"A\":2}, partition: 0",
        );
        end_chunks(conn);
    });
    let mut sh = shell(options(&server.url));
    assert!(sh.run_text("PRINT 's' FROM BEGINNING LIMIT 2;"));
    let out = sh.out.take_captured();
    assert_eq!(
        out,
        "Key format: KAFKA_INT\nValue format: JSON\nrowtime: 2024/01/01 00:00:00.000 Z, key: 1, value: {\"A\":1}, partition: 0\nrowtime: 2024/01/01 00:00:00.001 Z, key: 2, value: {\"A\":2}, partition: 0\nTopic printing ceased\n"
    );
}

#[test]
fn json_output_and_local_commands() {
    let server = fake(|_, body, conn| {
        respond(conn, 200, &status(body["ksql"].as_str().unwrap(), "ok"));
    });
    let mut sh = shell(options(&server.url));
    assert!(sh.run_text("output json;"));
    assert!(sh.run_text("CREATE x;"));
    let out = sh.out.take_captured();
    assert!(
        out.starts_with("Output format set to JSON\n[\n  {\n    \"@type\": \"currentStatus\""),
        "{out}"
    );
    assert!(sh.run_text("output"));
    assert_eq!(sh.out.take_captured(), "Current output format: JSON\n");
    assert!(!sh.run_text("output XML"));
    assert!(sh.run_text("output TABULAR; DEFINE b = '2'; DEFINE a = 'it''s'; SHOW VARIABLES;"));
    let out = sh.out.take_captured();
    assert!(out.ends_with(" Variable Name | Value \n-----------------------\n a             | it's  \n b             | 2     \n-----------------------\n"), "{out}");
    assert!(!sh.run_text("UNSET 'never';"));
    assert!(sh.run_text("UNDEFINE nope;"));
    assert!(!sh.run_text("set cli WRAP maybe;"));
    assert!(sh.run_text("set cli COLUMN-WIDTH 4; set cli wrap off; request-pipelining; server;"));
    let out = sh.out.take_captured();
    assert!(out.contains("Cannot undefine variable 'nope' which was never defined."));
    assert!(out.contains("Current request-pipelining configuration: OFF\n"));
    assert!(out.ends_with(&format!("{}\n", server.url)));
    assert!(sh.run_text("exit; SHOW STREAMS;"));
    assert!(sh.exit_requested);
    assert_eq!(server.requests.lock().unwrap().len(), 1);
}

#[test]
fn run_script_and_spool() {
    let server = fake(|_, body, conn| {
        respond(conn, 200, &status(body["ksql"].as_str().unwrap(), "done"));
    });
    let dir = std::env::temp_dir().join(format!("flusso-shell-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("a.sql");
    std::fs::write(
        &script,
        "-- a script\nCREATE STREAM a (x INT) WITH (kafka_topic='a');\n",
    )
    .unwrap();
    let spool = dir.join("spool.txt");
    let mut sh = shell(options(&server.url));
    assert!(sh.run_text(&format!("spool '{}';", spool.display())));
    assert!(sh.run_text(&format!("RUN SCRIPT '{}';", script.display())));
    assert!(sh.run_text("spool off"));
    let out = sh.out.take_captured();
    assert!(out.contains("Session will be spooled to"));
    assert!(out.contains(" done "));
    let spooled = std::fs::read_to_string(&spool).unwrap();
    assert!(spooled.contains(" done "), "{spooled}");
    assert!(!sh.run_text("run script '/nonexistent/x.sql'"));
    assert!(sh
        .out
        .take_captured()
        .starts_with("Failed to read file: /nonexistent/x.sql"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn completion_names_come_from_the_server() {
    let server = fake(|_, body, conn| {
        let text = body["ksql"].as_str().unwrap();
        let answer = match text {
            "SHOW STREAMS;" => json!([{"@type":"streams","streams":[{"name":"PAGEVIEWS"}]}]),
            "SHOW TABLES;" => json!([{"@type":"tables","tables":[{"name":"users"}]}]),
            "SHOW FUNCTIONS;" => json!([{"@type":"function_names","functions":[{"name":"UCASE"}]}]),
            _ => {
                assert_eq!(text, "DESCRIBE PAGEVIEWS;\nDESCRIBE `users`;");
                json!([{"@type":"sourceDescription","sourceDescription":{"fields":[{"name":"PAGEID"}]}},
                       {"@type":"describe","rows":[{"name":"USERID"}]}])
            }
        };
        respond(conn, 200, &answer);
    });
    let mut sh = shell(options(&server.url));
    sh.refresh_names();
    let names = sh.names.lock().unwrap().clone();
    assert_eq!(names.sources, vec!["PAGEVIEWS", "users"]);
    assert_eq!(names.columns, vec!["PAGEID", "USERID"]);
    assert_eq!(names.functions, vec!["UCASE"]);
}

#[test]
fn carets() {
    assert_eq!(
        caret("line 1:8: mismatched input", "SELECT x FROM;", None).as_deref(),
        Some("SELECT x FROM;\n       ^\n")
    );
    assert_eq!(
        caret("line 1:2: x", "\tab", None).as_deref(),
        Some("\tab\n\t^\n")
    );
    assert_eq!(
        caret("line 3:1: x", "a", Some("a\nb\nc")).as_deref(),
        Some("c\n^\n")
    );
    assert_eq!(caret("no position", "a", None), None);
    assert_eq!(caret("line 1:50: x", "short", None), None);
}

#[test]
fn properties_file() {
    assert_eq!(
        crate::parse_properties("# c\n! c\nauto.offset.reset = earliest\na:b\n\nflag\na=c\n"),
        vec![
            ("auto.offset.reset".to_string(), "earliest".to_string()),
            ("flag".to_string(), String::new()),
            ("a".to_string(), "c".to_string()),
        ]
    );
}
