//! Judging RQTT responses as ksqlDB's `RestTestExecutor` does: expected objects list only the
//! keys to test (recursively), a key may carry an operator (`queryId|starts_with`), `{STATEMENT}`
//! stands for the statement; query rows match as a multiset unless `verifyOrder`; errors match
//! by status, `@type` and message substring. Also the splitter of `/query`'s streamed JSON array.

use serde_json::Value as Json;

/// Splits a streamed JSON array (`[{..},\n{..},\n{..}]`) into its elements as they arrive.
/// Anything between top-level objects (`[`, `,`, whitespace) is skipped; a top-level `]` ends
/// the array.
#[derive(Debug, Default)]
pub struct Splitter {
    buf: Vec<u8>,
    /// Where scanning resumes.
    pos: usize,
    /// Start of the object being read, when inside one.
    start: Option<usize>,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The elements read so far.
    pub elements: Vec<Json>,
    /// The array's closing `]` was seen.
    pub closed: bool,
}

impl Splitter {
    /// Feeds a chunk; complete elements are appended to `elements`.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        self.buf.extend_from_slice(chunk);
        while self.pos < self.buf.len() {
            let b = self.buf[self.pos];
            let i = self.pos;
            self.pos += 1;
            if self.start.is_none() {
                match b {
                    b'{' => {
                        self.start = Some(i);
                        self.depth = 1;
                    }
                    b']' => self.closed = true,
                    _ => {}
                }
                continue;
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        let start = self.start.take().unwrap_or(0);
                        let text = &self.buf[start..=i];
                        let element: Json = serde_json::from_slice(text).map_err(|e| {
                            format!(
                                "the /query stream holds an element that is not JSON ({e}): {}",
                                String::from_utf8_lossy(text)
                            )
                        })?;
                        self.elements.push(element);
                    }
                }
                _ => {}
            }
        }
        // Drop what was consumed.
        let keep_from = self.start.unwrap_or(self.pos);
        if keep_from > 0 {
            self.buf.drain(..keep_from);
            self.pos -= keep_from;
            if let Some(s) = self.start.as_mut() {
                *s -= keep_from;
            }
        }
        Ok(())
    }
}

/// A number's value as (negative, significant digits without leading/trailing zeros,
/// exponent of the last digit), so that `1.50`, `1.5` and `15e-1` compare equal.
fn decimal_value(text: &str) -> Option<(bool, String, i64)> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i64>().ok()?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let mut exponent = exp - frac.len() as i64;
    let trimmed_end = digits.trim_end_matches('0');
    exponent += (digits.len() - trimmed_end.len()) as i64;
    let significant = trimmed_end.trim_start_matches('0').to_string();
    if significant.is_empty() {
        return Some((false, String::new(), 0));
    }
    Some((negative, significant, exponent))
}

/// Numbers are equal when integers are equal, when decimals have the same value, or when they
/// are within 1e-6 of each other (doubles printed by different writers).
pub fn numbers_equal(expected: &str, actual: &str) -> bool {
    if let (Some(a), Some(b)) = (decimal_value(expected), decimal_value(actual)) {
        if a == b {
            return true;
        }
    }
    let is_int = |s: &str| !s.contains(['.', 'e', 'E']);
    if is_int(expected) && is_int(actual) {
        return false;
    }
    match (expected.parse::<f64>(), actual.parse::<f64>()) {
        (Ok(a), Ok(b)) => (a - b).abs() <= 1e-6,
        _ => false,
    }
}

/// Full equality (Hamcrest `is`), numbers compared by value.
pub fn json_eq(expected: &Json, actual: &Json) -> bool {
    match (expected, actual) {
        (Json::Number(a), Json::Number(b)) => numbers_equal(&a.to_string(), &b.to_string()),
        (Json::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_eq(x, y))
        }
        (Json::Object(a), Json::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => expected == actual,
    }
}

/// Replaces the `{STATEMENT}` macro in an expected string.
fn macro_value(v: &Json, statement: Option<&str>) -> Json {
    match (v, statement) {
        (Json::String(s), Some(stmt)) if s.contains("{STATEMENT}") => {
            Json::String(s.replace("{STATEMENT}", stmt))
        }
        _ => v.clone(),
    }
}

/// `matchResponseFields`: every expected key must be in `actual`; objects recurse, other
/// values must be equal (or, with `|starts_with`, a prefix).
pub fn partial_match(
    expected: &Json,
    actual: &Json,
    statement: Option<&str>,
    path: &str,
) -> Result<(), String> {
    let Json::Object(expected) = expected else {
        return Err(format!(
            "{path}: the expected value is not an object: {expected}"
        ));
    };
    let Json::Object(actual_map) = actual else {
        return Err(format!("{path}: expected an object, got {actual}"));
    };
    for (key, ev) in expected {
        let (name, operator) = match key.split_once('|') {
            Some((n, op)) => (n, Some(op.to_lowercase())),
            None => (key.as_str(), None),
        };
        let here = format!("{path}->{name}");
        let Some(av) = actual_map.get(name) else {
            return Err(format!("{here}: missing; got {actual}"));
        };
        let ev = macro_value(ev, statement);
        if ev.is_object() {
            partial_match(&ev, av, statement, &here)?;
            continue;
        }
        match operator.as_deref() {
            Some("starts_with") => match (&ev, av) {
                (Json::String(e), Json::String(a)) if a.starts_with(e.as_str()) => {}
                _ => return Err(format!("{here}: expected to start with {ev}, got {av}")),
            },
            Some(op) => return Err(format!("{here}: unknown match operator {op}")),
            None => {
                if !json_eq(&ev, av) {
                    return Err(format!("{here}: expected {ev}, got {av}"));
                }
            }
        }
    }
    Ok(())
}

fn is_row(e: &Json) -> bool {
    e.get("row").is_some()
}

fn listing(items: &[Json]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("\n      ")
}

/// Compares a query's streamed rows: same number of elements; header, final message and errors
/// in order; rows in order with `verify_order`, otherwise as a multiset.
pub fn query_match(
    expected: &[Json],
    actual: &[Json],
    statement: Option<&str>,
    verify_order: bool,
    path: &str,
) -> Result<(), String> {
    if expected.len() != actual.len() {
        return Err(format!(
            "{path}: expected {} elements, got {}\n    expected:\n      {}\n    got:\n      {}",
            expected.len(),
            actual.len(),
            listing(expected),
            listing(actual)
        ));
    }
    if verify_order {
        for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
            partial_match(e, a, statement, &format!("{path}[{i}]"))?;
        }
        return Ok(());
    }
    let (e_rows, e_other): (Vec<&Json>, Vec<&Json>) = expected.iter().partition(|e| is_row(e));
    let (a_rows, a_other): (Vec<&Json>, Vec<&Json>) = actual.iter().partition(|a| is_row(a));
    if e_other.len() != a_other.len() {
        return Err(format!(
            "{path}: expected {} rows, got {}\n    expected:\n      {}\n    got:\n      {}",
            e_rows.len(),
            a_rows.len(),
            listing(expected),
            listing(actual)
        ));
    }
    for (i, (e, a)) in e_other.iter().zip(&a_other).enumerate() {
        partial_match(e, a, statement, &format!("{path}[non-row {i}]"))?;
    }
    // Most specific expectations first, so that a row without `tombstone` does not take the
    // tombstone another expected row needs.
    let mut order: Vec<usize> = (0..e_rows.len()).collect();
    order.sort_by_key(|&i| {
        std::cmp::Reverse(
            e_rows[i]
                .get("row")
                .and_then(|r| r.as_object())
                .map_or(0, |o| o.len()),
        )
    });
    let mut used = vec![false; a_rows.len()];
    for i in order {
        let e = e_rows[i];
        let found = (0..a_rows.len())
            .find(|&j| !used[j] && partial_match(e, a_rows[j], statement, path).is_ok());
        match found {
            Some(j) => used[j] = true,
            None => {
                return Err(format!(
                    "{path}: no row matches {e}\n    expected:\n      {}\n    got:\n      {}",
                    listing(expected),
                    listing(actual)
                ))
            }
        }
    }
    Ok(())
}

/// Checks an error response against `expectedError` (`type`, `message`, `status`).
pub fn error_match(
    expected: &Json,
    status: u16,
    body: &Json,
    last_statement: &str,
) -> Result<(), String> {
    let got = || format!("got {status} {body}");
    if let Some(s) = expected.get("status").and_then(|s| s.as_u64()) {
        if s != u64::from(status) {
            return Err(format!("expected HTTP status {s}, {}", got()));
        }
    }
    let actual_type = body.get("@type").and_then(|t| t.as_str()).unwrap_or("");
    if let Some(t) = expected.get("type").and_then(|t| t.as_str()) {
        let class = t.rsplit('.').next().unwrap_or(t);
        match class {
            "KsqlStatementErrorMessage" => {
                if actual_type != "statement_error" {
                    return Err(format!("expected a statement_error, {}", got()));
                }
                let text = body
                    .get("statementText")
                    .and_then(|t| t.as_str())
                    .unwrap_or("");
                if !text.contains(last_statement) {
                    return Err(format!(
                        "expected statementText containing {last_statement:?}, {}",
                        got()
                    ));
                }
            }
            "KsqlErrorMessage" => {
                if actual_type != "generic_error" && actual_type != "statement_error" {
                    return Err(format!("expected a ksqlDB error message, {}", got()));
                }
            }
            other => return Err(format!("unknown expected error type {other}")),
        }
    }
    if let Some(m) = expected.get("message").and_then(|m| m.as_str()) {
        let message = body.get("message").and_then(|m| m.as_str()).unwrap_or("");
        if !message.contains(m) {
            return Err(format!(
                "expected an error message containing {m:?}, {}",
                got()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Json {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn splits_a_streamed_array_across_chunks() {
        let mut s = Splitter::default();
        let text = "[{\"header\":{\"schema\":\"`A` STRING\"}},\n{\"row\":{\"columns\":[\"}]\",1]}},\n{\"finalMessage\":\"Limit Reached\"}]\n";
        for chunk in text.as_bytes().chunks(7) {
            s.feed(chunk).unwrap();
        }
        assert_eq!(s.elements.len(), 3);
        assert!(s.closed);
        assert_eq!(s.elements[1], j(r#"{"row":{"columns":["}]",1]}}"#));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(numbers_equal("1.50", "1.5"));
        assert!(numbers_equal("0", "0.00"));
        assert!(numbers_equal("15e-1", "1.5"));
        assert!(!numbers_equal("1", "2"));
        assert!(numbers_equal("0.30000000000000004", "0.3"));
    }

    #[test]
    fn partial_match_with_operator_and_macro() {
        let e = j(r#"{"header":{"queryId|starts_with":"SCALABLE","schema":"`K` STRING"}}"#);
        let a = j(r#"{"header":{"queryId":"SCALABLE_PUSH_QUERY_1","schema":"`K` STRING"}}"#);
        assert!(partial_match(&e, &a, None, "r").is_ok());
        let e = j(r#"{"statementText":"{STATEMENT}"}"#);
        let a = j(r#"{"@type":"currentStatus","statementText":"CREATE X;"}"#);
        assert!(partial_match(&e, &a, Some("CREATE X;"), "r").is_ok());
        assert!(partial_match(&e, &a, Some("CREATE Y;"), "r").is_err());
    }

    #[test]
    fn rows_match_as_a_multiset() {
        let e = [
            j(r#"{"header":{"schema":"s"}}"#),
            j(r#"{"row":{"columns":[1]}}"#),
            j(r#"{"row":{"columns":[2]}}"#),
        ];
        let a = [
            j(r#"{"header":{"queryId":"q","schema":"s"}}"#),
            j(r#"{"row":{"columns":[2]}}"#),
            j(r#"{"row":{"columns":[1]}}"#),
        ];
        assert!(query_match(&e, &a, None, false, "q").is_ok());
        assert!(query_match(&e, &a, None, true, "q").is_err());
    }

    #[test]
    fn error_types() {
        let body = j(
            r#"{"@type":"statement_error","error_code":40001,"message":"boom here","statementText":"SELECT 1;"}"#,
        );
        let ee = j(
            r#"{"type":"io.confluent.ksql.rest.entity.KsqlStatementErrorMessage","message":"boom","status":400}"#,
        );
        assert!(error_match(&ee, 400, &body, "SELECT 1;").is_ok());
        assert!(error_match(&ee, 500, &body, "SELECT 1;").is_err());
        let ee = j(r#"{"type":"io.confluent.ksql.rest.entity.KsqlErrorMessage"}"#);
        assert!(error_match(&ee, 400, &body, "x").is_ok());
    }
}
