//! Tabular rendering of `/ksql` entities, laid out as ksqlDB's CLI lays them out
//! (`Console.java` and its table builders), plus the value and type strings they use.

use serde_json::Value;

use crate::table::Table;

/// A field of an entity as a string ("" when absent or null).
fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A field of an entity as an array (empty when absent).
fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A JSON value as Java's `toString` of what Jackson reads it into: strings bare, lists as
/// `[a, b]`, objects as `{k=v, k2=v2}`, numbers as written.
pub fn value_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value_string).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}={}", value_string(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// The type of a `SchemaInfo` (`{"type":"ARRAY","memberSchema":{…}}`) as ksqlDB's CLI prints it:
/// `VARCHAR(STRING)`, `ARRAY<INTEGER>`, `MAP<STRING, BIGINT>`, `STRUCT<A INTEGER>`,
/// `DECIMAL(10, 2)`.
pub fn type_string(schema: &Value) -> String {
    let ty = s(schema, "type");
    match ty {
        "STRING" => "VARCHAR(STRING)".into(),
        "ARRAY" => format!("ARRAY<{}>", member(schema)),
        "MAP" => format!("MAP<STRING, {}>", member(schema)),
        "STRUCT" => {
            let fields: Vec<String> = arr(schema, "fields")
                .iter()
                .map(|f| {
                    format!(
                        "{} {}",
                        s(f, "name"),
                        type_string(f.get("schema").unwrap_or(&Value::Null))
                    )
                })
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        "DECIMAL" => match schema.get("parameters").and_then(Value::as_object) {
            Some(p) if !p.is_empty() => {
                let get = |k: &str| p.get(k).map(value_string).unwrap_or_else(|| "null".into());
                format!("DECIMAL({}, {})", get("precision"), get("scale"))
            }
            _ => "DECIMAL".into(),
        },
        "" => match schema {
            Value::String(t) => t.clone(),
            _ => "UNKNOWN".into(),
        },
        other => other.to_string(),
    }
}

fn member(schema: &Value) -> String {
    type_string(schema.get("memberSchema").unwrap_or(&Value::Null))
}

/// The column names of a query header's schema: `` `A` STRING, `B` STRUCT<`X` INT, `Y` INT> ``
/// → `A`, `B`.
pub fn schema_column_names(schema: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut in_tick = false;
    let mut current = String::new();
    let mut chars = schema.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                current.push(c);
                if in_tick && chars.peek() == Some(&'`') {
                    current.push('`');
                    chars.next();
                } else {
                    in_tick = !in_tick;
                }
            }
            '<' | '(' if !in_tick => {
                depth += 1;
                current.push(c);
            }
            '>' | ')' if !in_tick => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if !in_tick && depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
        .iter()
        .map(|p| {
            let p = p.trim();
            if let Some(rest) = p.strip_prefix('`') {
                let mut name = String::new();
                let mut chars = rest.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '`' {
                        if chars.peek() == Some(&'`') {
                            name.push('`');
                            chars.next();
                        } else {
                            break;
                        }
                    } else {
                        name.push(c);
                    }
                }
                name
            } else {
                p.split_whitespace().next().unwrap_or("").to_string()
            }
        })
        .collect()
}

/// A list of entities as the CLI prints it: a blank line before each, the statement's text above
/// each when there are several, and the entity's warnings after it.
pub fn render_entities(entities: &[Value], width: Option<usize>) -> String {
    let mut out = String::new();
    let show_statements = entities.len() > 1;
    for e in entities {
        out.push('\n');
        if show_statements {
            out.push_str(s(e, "statementText"));
            out.push('\n');
        }
        out.push_str(&render_entity(e, width));
        for w in arr(e, "warnings") {
            out.push_str(&format!("WARNING: {}\n", s(w, "message")));
        }
    }
    out
}

/// One entity, by its `@type`.
pub fn render_entity(e: &Value, width: Option<usize>) -> String {
    match s(e, "@type") {
        "currentStatus" => {
            let status = e.get("commandStatus").unwrap_or(&Value::Null);
            let message = s(status, "message").split('\n').next().unwrap_or("");
            Table::new(["Message"]).row([message]).render(width)
        }
        "streams" => sources(e, "streams", "Stream Name").render(width),
        "tables" => sources(e, "tables", "Table Name").render(width),
        "queries" => queries(e).render(width),
        "properties" => properties(e).render(width),
        "kafka_topics" => topics(e, false).render(width),
        "kafka_topics_extended" => topics(e, true).render(width),
        "sourceDescription" => {
            source_description(e.get("sourceDescription").unwrap_or(&Value::Null), width)
        }
        "source_descriptions" => {
            let mut out = String::new();
            for d in arr(e, "sourceDescriptions") {
                out.push_str(&source_description(d, width));
                out.push('\n');
            }
            out
        }
        "queryDescription" => {
            query_description(e.get("queryDescription").unwrap_or(&Value::Null), width)
        }
        "query_descriptions" => {
            let mut out = String::new();
            for d in arr(e, "queryDescriptions") {
                out.push_str(&query_description(d, width));
                out.push('\n');
            }
            out
        }
        "function_names" => function_names(e).render(width),
        "describe_function" => describe_function(e, width),
        "type_list" => type_list(e).render(width),
        "variables" => {
            let vars = arr(e, "variables")
                .iter()
                .map(|v| (s(v, "name").to_string(), s(v, "value").to_string()));
            variables_table(vars).render(width)
        }
        "warning_entity" => Table::new(["Message"]).row([s(e, "message")]).render(width),
        "terminate_query" => Table::new(["Message"])
            .row([format!("Terminated query \"{}\"", s(e, "queryId"))])
            .render(width),
        "executionPlan" => Table::new(["Execution Plan"])
            .row([s(e, "executionPlan")])
            .render(width),
        "topicDescription" => {
            let mut t = Table::new(["Table Name", "Kafka Topic", "Type"]);
            let mut row = vec![
                s(e, "name").to_string(),
                s(e, "kafkaTopic").to_string(),
                s(e, "format").to_string(),
            ];
            if let Some(schema) = e.get("schemaString").and_then(Value::as_str) {
                t.headers.push("Schema".into());
                row.push(schema.to_string());
            }
            t.row(row).render(width)
        }
        "assert_topic" => {
            let exists = e.get("exists").and_then(Value::as_bool).unwrap_or(false);
            format!(
                "Topic {}{}.\n",
                s(e, "topicName"),
                if exists { " exists" } else { " does not exist" }
            )
        }
        "assert_schema" => {
            let exists = e.get("exists").and_then(Value::as_bool).unwrap_or(false);
            let subject = e
                .get("subject")
                .and_then(Value::as_str)
                .map(|x| format!(" subject {x}"))
                .unwrap_or_default();
            let id = e
                .get("id")
                .filter(|v| !v.is_null())
                .map(|x| format!(" id {}", value_string(x)))
                .unwrap_or_default();
            format!(
                "Schema with{subject}{id}{}.\n",
                if exists { " exists" } else { " does not exist" }
            )
        }
        "connector_list" => {
            let mut t = Table::new(["Connector Name", "Type", "Class", "Status"]);
            for c in arr(e, "connectors") {
                t = t.row([s(c, "name"), s(c, "type"), s(c, "className"), s(c, "state")]);
            }
            t.render(width)
        }
        "drop_connector" => Table::new(["Message"])
            .row([format!("Dropped connector \"{}\"", s(e, "connectorName"))])
            .render(width),
        _ => generic(e, width),
    }
}

/// An entity this shell does not know: a table of its `rows` if it has them, else its JSON.
fn generic(e: &Value, width: Option<usize>) -> String {
    if let Some(rows) = e.get("rows").and_then(Value::as_array) {
        let mut headers: Vec<String> = Vec::new();
        for r in rows {
            if let Some(o) = r.as_object() {
                for k in o.keys() {
                    if !headers.contains(k) {
                        headers.push(k.clone());
                    }
                }
            }
        }
        if headers.is_empty() {
            return Table::default().render(width);
        }
        let titles = headers.iter().map(|h| match h.as_str() {
            "name" => "Name".to_string(),
            other => other.to_string(),
        });
        let mut t = Table::new(titles);
        for r in rows {
            t = t.row(headers.iter().map(|h| match r.get(h) {
                None | Some(Value::Null) => String::new(),
                Some(v) => value_string(v),
            }));
        }
        return t.render(width);
    }
    let mut text = serde_json::to_string_pretty(e).unwrap_or_default();
    text.push('\n');
    text
}

fn sources(e: &Value, key: &str, title: &str) -> Table {
    let mut list: Vec<&Value> = arr(e, key).iter().collect();
    list.sort_by(|a, b| s(a, "name").cmp(s(b, "name")));
    let mut t = Table::new([
        title,
        "Kafka Topic",
        "Key Format",
        "Value Format",
        "Windowed",
    ]);
    for src in list {
        let windowed = src
            .get("isWindowed")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        t = t.row([
            s(src, "name").to_string(),
            s(src, "topic").to_string(),
            s(src, "keyFormat").to_string(),
            s(src, "valueFormat").to_string(),
            windowed.to_string(),
        ]);
    }
    t
}

fn status_count(q: &Value) -> String {
    match q.get("statusCount").and_then(Value::as_object) {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| format!("{k}:{}", value_string(v)))
            .collect::<Vec<_>>()
            .join(","),
        _ => s(q, "state").to_string(),
    }
}

fn joined(v: &Value, key: &str) -> String {
    arr(v, key)
        .iter()
        .map(value_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn single_line(text: &str) -> String {
    text.replace("\r\n", " ").replace('\n', " ")
}

fn queries(e: &Value) -> Table {
    let mut t = Table::new([
        "Query ID",
        "Query Type",
        "Status",
        "Sink Name",
        "Sink Kafka Topic",
        "Query String",
    ]);
    for q in arr(e, "queries") {
        t = t.row([
            value_string(q.get("id").unwrap_or(&Value::Null)),
            s(q, "queryType").to_string(),
            status_count(q),
            joined(q, "sinks"),
            joined(q, "sinkKafkaTopics"),
            single_line(s(q, "queryString")),
        ]);
    }
    t.footer("For detailed information on a Query run: EXPLAIN <Query ID>;")
}

fn contains_str(list: &[Value], name: &str) -> bool {
    list.iter().any(|v| v.as_str() == Some(name))
}

fn properties(e: &Value) -> Table {
    let overwritten = arr(e, "overwrittenProperties");
    let defaults = arr(e, "defaultProperties");
    let mut rows: Vec<[String; 4]> = arr(e, "properties")
        .iter()
        .map(|p| {
            let name = s(p, "name").to_string();
            let value = match p.get("value") {
                None | Some(Value::Null) => "NULL".to_string(),
                Some(v) => value_string(v),
            };
            let level = if contains_str(overwritten, &name) {
                "SESSION"
            } else if contains_str(defaults, &name) {
                ""
            } else {
                "SERVER"
            };
            [name, s(p, "scope").to_string(), level.to_string(), value]
        })
        .collect();
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    let mut t = Table::new(["Property", "Scope", "Default override", "Effective Value"]);
    for r in rows {
        t = t.row(r);
    }
    t
}

fn replica_info(replicas: &[Value]) -> String {
    let counts: Vec<String> = replicas.iter().map(value_string).collect();
    match counts.first() {
        None => "0".into(),
        Some(first) if counts.iter().all(|c| c == first) => first.clone(),
        Some(_) => counts.join(", "),
    }
}

fn topics(e: &Value, extended: bool) -> Table {
    let mut headers = vec!["Kafka Topic", "Partitions", "Partition Replicas"];
    if extended {
        headers.extend(["Consumers", "ConsumerGroups"]);
    }
    let mut t = Table::new(headers);
    for topic in arr(e, "topics") {
        let replicas = arr(topic, "replicaInfo");
        let mut row = vec![
            s(topic, "name").to_string(),
            replicas.len().to_string(),
            replica_info(replicas),
        ];
        if extended {
            for k in ["consumerCount", "consumerGroupCount"] {
                row.push(topic.get(k).map(value_string).unwrap_or_else(|| "0".into()));
            }
        }
        t = t.row(row);
    }
    t
}

fn field_type(field: &Value, window_type: Option<&str>, is_table: bool) -> String {
    let ty = type_string(field.get("schema").unwrap_or(&Value::Null));
    match s(field, "type") {
        "HEADER" => {
            let header = match field.get("headerKey").and_then(Value::as_str) {
                Some(k) => format!("(header('{k}'))"),
                None => "(headers)".into(),
            };
            format!("{ty:<16} {header}")
        }
        "KEY" => {
            let window = window_type
                .map(|w| format!(" (Window type: {w})"))
                .unwrap_or_default();
            let key = if is_table { "(primary key)" } else { "(key)" };
            format!("{ty:<16} {key}{window}")
        }
        _ => ty,
    }
}

fn schema_table(
    fields: &[Value],
    window_type: Option<&str>,
    is_table: bool,
    width: Option<usize>,
) -> String {
    if fields.is_empty() {
        return String::new();
    }
    let mut t = Table::new(["Field", "Type"]);
    for f in fields {
        t = t.row([
            s(f, "name").to_string(),
            field_type(f, window_type, is_table),
        ]);
    }
    t.render(width)
}

fn labelled(label: &str, value: impl std::fmt::Display) -> String {
    format!("{label:<20} : {value}\n")
}

fn window_type(v: &Value) -> Option<&str> {
    v.get("windowType").and_then(Value::as_str)
}

fn source_description(d: &Value, width: Option<usize>) -> String {
    let is_table = s(d, "type").eq_ignore_ascii_case("TABLE");
    let fields = arr(d, "fields");
    let mut out = labelled("Name", s(d, "name"));
    let extended = d.get("extended").and_then(Value::as_bool).unwrap_or(false);
    if !extended {
        out.push_str(&schema_table(fields, window_type(d), is_table, width));
        out.push_str(
            "For runtime statistics and query details run: DESCRIBE <Stream,Table> EXTENDED;\n",
        );
        return out;
    }
    out.push_str(&labelled("Type", s(d, "type")));
    let timestamp = match s(d, "timestamp") {
        "" => "Not set - using <ROWTIME>",
        t => t,
    };
    out.push_str(&labelled("Timestamp field", timestamp));
    out.push_str(&labelled("Key format", s(d, "keyFormat")));
    out.push_str(&labelled("Value format", s(d, "valueFormat")));
    let topic = s(d, "topic");
    if !topic.is_empty() {
        let partitions = d.get("partitions").and_then(Value::as_i64).unwrap_or(0);
        let mut line = format!("{:<20} : {topic}", "Kafka topic");
        if partitions != 0 {
            let replication = d.get("replication").and_then(Value::as_i64).unwrap_or(0);
            line.push_str(&format!(
                " (partitions: {partitions}, replication: {replication})"
            ));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&labelled("Statement", s(d, "statement")));
    out.push('\n');
    out.push_str(&schema_table(fields, window_type(d), is_table, width));

    let constraints = arr(d, "sourceConstraints");
    if !constraints.is_empty() {
        out.push_str("\nSources that have a DROP constraint on this source\n");
        out.push_str("--------------------------------------------------\n");
        for c in constraints {
            out.push_str(&value_string(c));
            out.push('\n');
        }
    }
    for (key, op) in [("readQueries", "read"), ("writeQueries", "write")] {
        let list = arr(d, key);
        if list.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n{:<20}\n-----------------------------------\n",
            format!("Queries that {op} from this {}", s(d, "type"))
        ));
        for q in list {
            let state = q.get("state").and_then(Value::as_str).unwrap_or("N/A");
            out.push_str(&format!(
                "{} ({state}) : {}\n",
                value_string(q.get("id").unwrap_or(&Value::Null)),
                single_line(s(q, "queryString"))
            ));
        }
        out.push_str("\nFor query topology and execution plan please run: EXPLAIN <QueryId>\n");
    }

    let stats = arr(d, "clusterStatistics");
    let errors = arr(d, "clusterErrorStats");
    if stats.is_empty() && errors.is_empty() {
        out.push_str("\nLocal runtime statistics\n------------------------\n");
        out.push_str(s(d, "statistics"));
        out.push('\n');
        out.push_str(s(d, "errorStats"));
        out.push('\n');
    } else {
        out.push_str("\nRuntime statistics by host\n-------------------------\n");
        let mut rows: Vec<[String; 4]> = stats
            .iter()
            .chain(errors)
            .map(|m| {
                let value = m.get("value").and_then(Value::as_f64).unwrap_or(0.0);
                [
                    value_string(m.get("host").unwrap_or(&Value::Null)),
                    s(m, "name").to_string(),
                    format!("{value:>10.0}"),
                    m.get("timestamp").map(value_string).unwrap_or_default(),
                ]
            })
            .collect();
        rows.sort_by(|a, b| (&a[0], &a[1]).cmp(&(&b[0], &b[1])));
        let mut t = Table::new(["Host", "Metric", "Value", "Last Message"]);
        for r in rows {
            t = t.row(r);
        }
        out.push_str(&t.render(width));
    }
    out.push_str(&format!(
        "(Statistics of the local KSQL server interaction with the Kafka topic {topic})\n"
    ));

    let summaries = arr(d, "queryOffsetSummaries");
    if !summaries.is_empty() {
        out.push_str("\nConsumer Groups summary:\n");
        for entry in summaries {
            out.push('\n');
            out.push_str(&labelled("Consumer Group", s(entry, "groupId")));
            let topics = arr(entry, "topicSummaries");
            if topics.is_empty() {
                out.push_str("<no offsets committed by this group yet>\n");
            }
            for topic in topics {
                let offsets = arr(topic, "offsets");
                let n = |o: &Value, k: &str| o.get(k).and_then(Value::as_i64).unwrap_or(0);
                let max_lag = offsets
                    .iter()
                    .map(|o| n(o, "logEndOffset") - n(o, "consumerOffset"))
                    .max()
                    .unwrap_or(0);
                out.push('\n');
                out.push_str(&labelled("Kafka topic", s(topic, "kafkaTopic")));
                out.push_str(&labelled("Max lag", max_lag));
                out.push('\n');
                let mut t =
                    Table::new(["Partition", "Start Offset", "End Offset", "Offset", "Lag"]);
                for o in offsets {
                    t = t.row([
                        n(o, "partition").to_string(),
                        n(o, "logStartOffset").to_string(),
                        n(o, "logEndOffset").to_string(),
                        n(o, "consumerOffset").to_string(),
                        (n(o, "logEndOffset") - n(o, "consumerOffset")).to_string(),
                    ]);
                }
                out.push_str(&t.render(width));
            }
        }
    }
    out
}

fn query_description(q: &Value, width: Option<usize>) -> String {
    let mut out = labelled("ID", value_string(q.get("id").unwrap_or(&Value::Null)));
    out.push_str(&labelled("Query Type", s(q, "queryType")));
    let sql = s(q, "statementText");
    if !sql.is_empty() {
        out.push_str(&labelled("SQL", sql));
    }
    if let Some(status) = q.get("ksqlHostQueryStatus").and_then(Value::as_object) {
        if !status.is_empty() {
            let v = Value::Object(status.clone());
            out.push_str(&labelled("Host Query Status", value_string(&v)));
        }
    }
    out.push('\n');
    out.push_str(&schema_table(
        arr(q, "fields"),
        window_type(q),
        false,
        width,
    ));
    for (key, title, hint) in [
        (
            "sources",
            "Sources that this query reads from: ",
            "For source description please run: DESCRIBE [EXTENDED] <SourceId>",
        ),
        (
            "sinks",
            "Sinks that this query writes to: ",
            "For sink description please run: DESCRIBE [EXTENDED] <SinkId>",
        ),
    ] {
        let list = arr(q, key);
        if list.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n{title:<20}\n-----------------------------------\n"
        ));
        for item in list {
            out.push_str(&value_string(item));
            out.push('\n');
        }
        out.push_str(&format!("\n{hint}\n"));
    }
    for (key, title, dashes) in [
        ("executionPlan", "Execution plan", "--------------"),
        ("topology", "Processing topology", "-------------------"),
    ] {
        let text = s(q, key);
        if !text.is_empty() {
            out.push_str(&format!("\n{title:<20}\n{dashes:<20}\n{text}\n"));
        }
    }
    if let Some(props) = q.get("overriddenProperties").and_then(Value::as_object) {
        if !props.is_empty() {
            let mut rows: Vec<(String, String)> = props
                .iter()
                .map(|(k, v)| (k.clone(), value_string(v)))
                .collect();
            rows.sort();
            let mut t = Table::new(["Property", "Value"]).header_line(format!(
                "\n{:<20}\n{:<20}",
                "Overridden Properties", "---------------------"
            ));
            for (k, v) in rows {
                t = t.row([k, v]);
            }
            out.push_str(&t.render(width));
        }
    }
    out.push('\n');
    for err in arr(q, "queryErrors") {
        let ts = err.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
        out.push_str(&labelled("Error Date", format_millis_utc(ts)));
        out.push_str(&labelled("Error Details", s(err, "errorMessage")));
        out.push_str(&labelled("Error Type", s(err, "type")));
    }
    out
}

/// Epoch milliseconds as `yyyy-MM-dd HH:mm:ss,SSS (UTC)`.
pub fn format_millis_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02},{millis:03} (UTC)",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

fn function_names(e: &Value) -> Table {
    let mut t = Table::new(["Function Name", "Category"]);
    let mut funcs: Vec<&Value> = arr(e, "functions").iter().collect();
    let has_category = funcs.first().is_some_and(|f| !s(f, "category").is_empty());
    if !has_category {
        funcs.sort_by(|a, b| s(a, "name").cmp(s(b, "name")));
        for f in funcs {
            t = t.row([s(f, "name").to_string(), s(f, "type").to_uppercase()]);
        }
    } else {
        funcs.sort_by(|a, b| {
            (s(a, "category"), s(a, "name")).cmp(&(s(b, "category"), s(b, "name")))
        });
        let mut previous = s(funcs[0], "category");
        for f in funcs {
            if s(f, "category") != previous {
                t = t.row([" ", " "]);
            }
            t = t.row([s(f, "name"), s(f, "category")]);
            previous = s(f, "category");
        }
    }
    t.footer("For detailed information about a function, run: DESCRIBE FUNCTION <Function Name>;")
}

fn describe_function(e: &Value, width: Option<usize>) -> String {
    let name = s(e, "name").to_uppercase();
    let mut out = String::new();
    let base = |label: &str, value: &str| format!("{label:<12}: {value}\n");
    out.push_str(&base("Name", &name));
    for (label, key) in [("Author", "author"), ("Version", "version")] {
        if !s(e, key).trim().is_empty() {
            out.push_str(&base(label, s(e, key)));
        }
    }
    let term = width.unwrap_or(80);
    out.push_str(&wrapped_description(
        "",
        "Overview",
        s(e, "description"),
        term,
    ));
    out.push_str(&base("Type", s(e, "type")));
    out.push_str(&base("Jar", s(e, "path")));
    out.push_str(&base("Variations", ""));
    for f in arr(e, "functions") {
        let args: Vec<String> = arr(f, "arguments")
            .iter()
            .map(|a| {
                let variadic = a
                    .get("isVariadic")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let ty = format!("{}{}", s(a, "type"), if variadic { "[]" } else { "" });
                if s(a, "name").is_empty() {
                    ty
                } else {
                    format!("{} {ty}", s(a, "name"))
                }
            })
            .collect();
        out.push_str(&format!(
            "\n\t{:<12}: {name}({})\n",
            "Variation",
            args.join(", ")
        ));
        out.push_str(&format!("\t{:<12}: {}\n", "Returns", s(f, "returnType")));
        out.push_str(&wrapped_description(
            "\t",
            "Description",
            s(f, "description"),
            term,
        ));
        for a in arr(f, "arguments") {
            out.push_str(&wrapped_description(
                "\t",
                s(a, "name"),
                s(a, "description"),
                term,
            ));
        }
    }
    out
}

/// `label: description`, the description wrapped at the terminal's width and indented under
/// itself (ksqlDB's `printDescription`).
fn wrapped_description(prefix: &str, label: &str, description: &str, terminal: usize) -> String {
    let trimmed = description.trim();
    if trimmed.is_empty() {
        return String::new();
    }
    let label_len = format!("{prefix}{label:<12}: ")
        .replace('\t', "  ")
        .chars()
        .count();
    let width = terminal.max(80).saturating_sub(label_len);
    let mut text = String::new();
    let mut line_len = 0;
    let mut token = String::new();
    let mut tokens = Vec::new();
    for c in trimmed.chars() {
        if c == ' ' || c == '\n' {
            if !token.is_empty() {
                tokens.push(std::mem::take(&mut token));
            }
            tokens.push(c.to_string());
        } else {
            token.push(c);
        }
    }
    if !token.is_empty() {
        tokens.push(token);
    }
    for word in tokens {
        let newline = word == "\n";
        if newline || line_len + word.chars().count() > width {
            text.push('\n');
            line_len = 0;
            if newline {
                continue;
            }
        }
        line_len += word.chars().count();
        text.push_str(&word);
    }
    let indent = " ".repeat(label_len);
    format!(
        "{prefix}{label:<12}: {}\n",
        text.replace('\n', &format!("\n{indent}"))
    )
}

fn type_list(e: &Value) -> Table {
    let mut t = Table::new(["Type Name", "Schema"]);
    if let Some(types) = e.get("types").and_then(Value::as_object) {
        let mut rows: Vec<(String, String)> = types
            .iter()
            .map(|(k, v)| (k.clone(), type_string(v)))
            .collect();
        rows.sort();
        for (k, v) in rows {
            t = t.row([k, v]);
        }
    }
    t
}

/// `SHOW VARIABLES`: the session's variables, sorted by name.
pub fn variables_table(vars: impl IntoIterator<Item = (String, String)>) -> Table {
    let mut rows: Vec<(String, String)> = vars.into_iter().collect();
    rows.sort();
    let mut t = Table::new(["Variable Name", "Value"]);
    for (k, v) in rows {
        t = t.row([k, v]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(e: Value) -> String {
        render_entities(&[e], None)
    }

    #[test]
    fn command_status() {
        let e = json!({"@type":"currentStatus","statementText":"CREATE STREAM s ...;",
            "commandId":"stream/S/create",
            "commandStatus":{"status":"SUCCESS","message":"Stream created\nmore"},
            "commandSequenceNumber":2,"warnings":[]});
        assert_eq!(
            one(e),
            "\n Message        \n----------------\n Stream created \n----------------\n"
        );
    }

    #[test]
    fn streams_sorted_with_windowed_flag() {
        let e = json!({"@type":"streams","statementText":"SHOW STREAMS;","streams":[
            {"type":"STREAM","name":"B","topic":"t2","keyFormat":"KAFKA","valueFormat":"AVRO","isWindowed":false},
            {"type":"STREAM","name":"A","topic":"t1","keyFormat":"JSON","valueFormat":"JSON","isWindowed":true}
        ],"warnings":[]});
        let expected = concat!(
            "\n",
            " Stream Name | Kafka Topic | Key Format | Value Format | Windowed \n",
            "------------------------------------------------------------------\n",
            " A           | t1          | JSON       | JSON         | true     \n",
            " B           | t2          | KAFKA      | AVRO         | false    \n",
            "------------------------------------------------------------------\n",
        );
        assert_eq!(one(e), expected);
        let t = json!({"@type":"tables","tables":[]});
        assert!(one(t).starts_with("\n Table Name | Kafka Topic |"));
    }

    #[test]
    fn queries_with_footer() {
        let e = json!({"@type":"queries","queries":[{"queryString":"select * from t1 emit changes",
            "sinks":["Test"],"sinkKafkaTopics":["Test topic"],"id":"0",
            "statusCount":{"RUNNING":1,"ERROR":2},"queryType":"PUSH","state":"RUNNING"}]});
        let expected = concat!(
            "\n",
            " Query ID | Query Type | Status            | Sink Name | Sink Kafka Topic | Query String                  \n",
            "----------------------------------------------------------------------------------------------------\n",
            " 0        | PUSH       | RUNNING:1,ERROR:2 | Test      | Test topic       | select * from t1 emit changes \n",
            "----------------------------------------------------------------------------------------------------\n",
            "For detailed information on a Query run: EXPLAIN <Query ID>;\n",
        );
        // ksqlDB's golden file was made on a 100-column terminal: the dashes stop there.
        assert_eq!(render_entities(&[e], Some(100)), expected);
    }

    #[test]
    fn properties_levels() {
        let e = json!({"@type":"properties","properties":[
            {"name":"k2","scope":"KSQL","value":"v2"},
            {"name":"k1","scope":"KSQL","value":"1"},
            {"name":"k3","scope":"STREAMS","value":null}],
            "overwrittenProperties":["k2"],"defaultProperties":["k3"]});
        let expected = concat!(
            "\n",
            " Property | Scope   | Default override | Effective Value \n",
            "---------------------------------------------------------\n",
            " k1       | KSQL    | SERVER           | 1               \n",
            " k2       | KSQL    | SESSION          | v2              \n",
            " k3       | STREAMS |                  | NULL            \n",
            "---------------------------------------------------------\n",
        );
        assert_eq!(one(e), expected);
    }

    #[test]
    fn topics_replicas() {
        let e = json!({"@type":"kafka_topics","topics":[
            {"name":"a","replicaInfo":[1,1,1]},{"name":"b","replicaInfo":[1,2]},{"name":"c","replicaInfo":[]}]});
        let out = one(e);
        assert!(out.contains(" Kafka Topic | Partitions | Partition Replicas \n"));
        assert!(out.contains(" a           | 3          | 1                  \n"));
        assert!(out.contains(" b           | 2          | 1, 2               \n"));
        assert!(out.contains(" c           | 0          | 0                  \n"));
    }

    fn fields() -> Value {
        json!([
            {"name":"ROWKEY","schema":{"type":"STRING"},"type":"KEY"},
            {"name":"f_0","schema":{"type":"BOOLEAN"}},
            {"name":"f_5","schema":{"type":"ARRAY","memberSchema":{"type":"STRING"}}},
            {"name":"f_6","schema":{"type":"MAP","memberSchema":{"type":"BIGINT"}}},
            {"name":"f_7","schema":{"type":"STRUCT","fields":[{"name":"a","schema":{"type":"DOUBLE"}}]}},
            {"name":"f_8","schema":{"type":"DECIMAL","parameters":{"precision":10,"scale":2}}}
        ])
    }

    #[test]
    fn describe_extended_like_ksqldb() {
        let e = json!({"@type":"sourceDescription","statementText":"DESCRIBE x EXTENDED;",
            "sourceDescription":{"name":"TestSource","windowType":null,
            "readQueries":[{"queryString":"read query","sinks":[],"sinkKafkaTopics":[],"id":"readId","state":"ERROR"}],
            "writeQueries":[],"fields":fields(),"type":"TABLE","timestamp":"2000-01-01",
            "statistics":"stats","errorStats":"errors","extended":true,"keyFormat":"kafka",
            "valueFormat":"avro","topic":"kafka-topic","partitions":1,"replication":1,
            "statement":"sql statement","queryOffsetSummaries":[],"sourceConstraints":[],
            "clusterStatistics":[],"clusterErrorStats":[]},"warnings":[{"message":"oops"}]});
        let expected = concat!(
            "\n",
            "Name                 : TestSource\n",
            "Type                 : TABLE\n",
            "Timestamp field      : 2000-01-01\n",
            "Key format           : kafka\n",
            "Value format         : avro\n",
            "Kafka topic          : kafka-topic (partitions: 1, replication: 1)\n",
            "Statement            : sql statement\n",
            "\n",
            " Field  | Type                           \n",
            "-----------------------------------------\n",
            " ROWKEY | VARCHAR(STRING)  (primary key) \n",
            " f_0    | BOOLEAN                        \n",
            " f_5    | ARRAY<VARCHAR(STRING)>         \n",
            " f_6    | MAP<STRING, BIGINT>            \n",
            " f_7    | STRUCT<a DOUBLE>               \n",
            " f_8    | DECIMAL(10, 2)                 \n",
            "-----------------------------------------\n",
            "\n",
            "Queries that read from this TABLE\n",
            "-----------------------------------\n",
            "readId (ERROR) : read query\n",
            "\n",
            "For query topology and execution plan please run: EXPLAIN <QueryId>\n",
            "\n",
            "Local runtime statistics\n",
            "------------------------\n",
            "stats\n",
            "errors\n",
            "(Statistics of the local KSQL server interaction with the Kafka topic kafka-topic)\n",
            "WARNING: oops\n",
        );
        assert_eq!(one(e), expected);
    }

    #[test]
    fn describe_plain_stream() {
        let e = json!({"@type":"sourceDescription","sourceDescription":{"name":"S","type":"STREAM",
            "extended":false,"fields":[
                {"name":"ID","schema":{"type":"INTEGER"},"type":"KEY"},
                {"name":"NAME","schema":{"type":"STRING"}}]}});
        let expected = concat!(
            "\n",
            "Name                 : S\n",
            " Field | Type                   \n",
            "--------------------------------\n",
            " ID    | INTEGER          (key) \n",
            " NAME  | VARCHAR(STRING)        \n",
            "--------------------------------\n",
            "For runtime statistics and query details run: DESCRIBE <Stream,Table> EXTENDED;\n",
        );
        assert_eq!(one(e), expected);
    }

    #[test]
    fn explain() {
        let e = json!({"@type":"queryDescription","queryDescription":{"id":"id","statementText":"statement",
            "fields":[{"name":"name","schema":{"type":"STRING"}}],"sources":["source"],"sinks":["sink"],
            "topology":"topology","executionPlan":"executionPlan",
            "overriddenProperties":{"overridden.prop":42},"ksqlHostQueryStatus":{"foo:123":"ERROR"},
            "queryType":"PERSISTENT","queryErrors":[{"timestamp":1596601736314i64,"errorMessage":"error","type":"SYSTEM"}]}});
        let expected = concat!(
            "\n",
            "ID                   : id\n",
            "Query Type           : PERSISTENT\n",
            "SQL                  : statement\n",
            "Host Query Status    : {foo:123=ERROR}\n",
            "\n",
            " Field | Type            \n",
            "-------------------------\n",
            " name  | VARCHAR(STRING) \n",
            "-------------------------\n",
            "\n",
            "Sources that this query reads from: \n",
            "-----------------------------------\n",
            "source\n",
            "\n",
            "For source description please run: DESCRIBE [EXTENDED] <SourceId>\n",
            "\n",
            "Sinks that this query writes to: \n",
            "-----------------------------------\n",
            "sink\n",
            "\n",
            "For sink description please run: DESCRIBE [EXTENDED] <SinkId>\n",
            "\n",
            "Execution plan      \n",
            "--------------      \n",
            "executionPlan\n",
            "\n",
            "Processing topology \n",
            "------------------- \n",
            "topology\n",
            "\n",
            "Overridden Properties\n",
            "---------------------\n",
            " Property        | Value \n",
            "-------------------------\n",
            " overridden.prop | 42    \n",
            "-------------------------\n",
            "\n",
            "Error Date           : 2020-08-05 04:28:56,314 (UTC)\n",
            "Error Details        : error\n",
            "Error Type           : SYSTEM\n",
        );
        assert_eq!(one(e), expected);
    }

    #[test]
    fn functions_by_category() {
        let e = json!({"@type":"function_names","functions":[
            {"name":"UCASE","type":"SCALAR","category":"STRING"},
            {"name":"ABS","type":"SCALAR","category":"MATHEMATICAL"},
            {"name":"LCASE","type":"SCALAR","category":"STRING"}]});
        let expected = concat!(
            "\n",
            " Function Name | Category     \n",
            "------------------------------\n",
            " ABS           | MATHEMATICAL \n",
            "               |              \n",
            " LCASE         | STRING       \n",
            " UCASE         | STRING       \n",
            "------------------------------\n",
            "For detailed information about a function, run: DESCRIBE FUNCTION <Function Name>;\n",
        );
        assert_eq!(one(e), expected);
        let old = json!({"@type":"function_names","functions":[{"name":"B","type":"aggregate","category":""},{"name":"A","type":"scalar","category":""}]});
        assert!(one(old).contains(" A             | SCALAR    \n B             | AGGREGATE \n"));
    }

    #[test]
    fn function_description() {
        let e = json!({"@type":"describe_function","name":"foo","author":"Andy","version":"v1.1.0",
            "description":"Adds one.","path":"some.jar","type":"SCALAR","functions":[
            {"arguments":[{"name":"arg1","type":"INT","description":"the input","isVariadic":true}],
             "returnType":"LONG","description":"The function description"}]});
        let expected = concat!(
            "\n",
            "Name        : FOO\n",
            "Author      : Andy\n",
            "Version     : v1.1.0\n",
            "Overview    : Adds one.\n",
            "Type        : SCALAR\n",
            "Jar         : some.jar\n",
            "Variations  : \n",
            "\n",
            "\tVariation   : FOO(arg1 INT[])\n",
            "\tReturns     : LONG\n",
            "\tDescription : The function description\n",
            "\targ1        : the input\n",
        );
        assert_eq!(one(e), expected);
        let long = wrapped_description("", "Overview", &"very, ".repeat(20), 80);
        let lines: Vec<&str> = long.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].len() <= 80);
        assert!(lines[1].starts_with("              very,"));
    }

    #[test]
    fn function_description_of_several_variants() {
        // No author or version line when empty; no description line for an argument or a
        // variant without one.
        let e = json!({"@type":"describe_function","name":"COUNT","author":"","version":"",
            "description":"Counts records by key.","path":"internal","type":"AGGREGATE",
            "functions":[
            {"arguments":[{"name":"val1","type":"T","description":"","isVariadic":false}],
             "returnType":"BIGINT","description":""},
            {"arguments":[{"name":"val1","type":"INT","description":"","isVariadic":false},
                          {"name":"val2","type":"ANY","description":"","isVariadic":true},
                          {"name":"k","type":"INT","description":"How many","isVariadic":false}],
             "returnType":"ARRAY<S>","description":"Top k."}]});
        let expected = concat!(
            "\n",
            "Name        : COUNT\n",
            "Overview    : Counts records by key.\n",
            "Type        : AGGREGATE\n",
            "Jar         : internal\n",
            "Variations  : \n",
            "\n",
            "\tVariation   : COUNT(val1 T)\n",
            "\tReturns     : BIGINT\n",
            "\n",
            "\tVariation   : COUNT(val1 INT, val2 ANY[], k INT)\n",
            "\tReturns     : ARRAY<S>\n",
            "\tDescription : Top k.\n",
            "\tk           : How many\n",
        );
        assert_eq!(one(e), expected);
    }

    #[test]
    fn types_variables_terminate_warning() {
        let e = json!({"@type":"type_list","types":{
            "typeB":{"type":"ARRAY","memberSchema":{"type":"STRING"}},
            "typeA":{"type":"STRUCT","fields":[{"name":"f1","schema":{"type":"STRING"}}]},
            "typeC":{"type":"DECIMAL","parameters":{"precision":"10","scale":"9"}}}});
        let expected = concat!(
            "\n",
            " Type Name | Schema                     \n",
            "----------------------------------------\n",
            " typeA     | STRUCT<f1 VARCHAR(STRING)> \n",
            " typeB     | ARRAY<VARCHAR(STRING)>     \n",
            " typeC     | DECIMAL(10, 9)             \n",
            "----------------------------------------\n",
        );
        assert_eq!(one(e), expected);
        assert!(one(json!({"@type":"terminate_query","queryId":"queryId"}))
            .contains(" Terminated query \"queryId\" \n"));
        assert!(one(json!({"@type":"warning_entity","message":"careful"})).contains(" careful "));
        let vars = variables_table([
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
        ]);
        assert!(vars
            .render(None)
            .contains(" a             | 1     \n b             | 2     \n"));
    }

    #[test]
    fn several_entities_show_their_statements_and_unknown_is_json() {
        let a = json!({"@type":"currentStatus","statementText":"CREATE A;","commandStatus":{"message":"ok"}});
        let b = json!({"@type":"mystery","statementText":"X;","x":1});
        let out = render_entities(&[a, b], None);
        assert!(out.starts_with("\nCREATE A;\n Message \n"));
        assert!(out.contains("\nX;\n{\n  \"@type\": \"mystery\""));
    }

    #[test]
    fn rows_fallback() {
        let e = json!({"@type":"show","rows":[{"name":"S","Kafka Topic":"s"},{"name":"T","Kafka Topic":"t"}]});
        let out = one(e);
        assert!(out.contains(" Name | Kafka Topic \n"), "{out}");
        assert!(out.contains(" S    | s           \n"));
    }

    #[test]
    fn values_and_schemas() {
        assert_eq!(value_string(&json!([1, "a", null])), "[1, a, null]");
        assert_eq!(
            value_string(&json!({"A": 1, "B": {"C": [true]}})),
            "{A=1, B={C=[true]}}"
        );
        let n: Value = serde_json::from_str("1.50").unwrap();
        assert_eq!(value_string(&n), "1.50");
        assert_eq!(
            schema_column_names("`ROWTIME` BIGINT, `NAME` STRING, `S` STRUCT<`A` INT, `B,C` MAP<STRING, DECIMAL(4, 2)>>, `x``y` INT"),
            vec!["ROWTIME", "NAME", "S", "x`y"]
        );
        assert_eq!(schema_column_names("ID INTEGER, V STRING"), vec!["ID", "V"]);
        assert_eq!(schema_column_names(""), Vec::<String>::new());
        assert_eq!(type_string(&json!({"type":"DECIMAL"})), "DECIMAL");
    }

    #[test]
    fn millis() {
        assert_eq!(format_millis_utc(0), "1970-01-01 00:00:00,000 (UTC)");
        assert_eq!(
            format_millis_utc(951_782_400_123),
            "2000-02-29 00:00:00,123 (UTC)"
        );
    }
}
