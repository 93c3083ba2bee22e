//! Parses every statement of the ksqlDB query-validation-test corpus (read in place, never copied),
//! except cases that expect a parse error.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Statements that parsed in the last full run (all 3271); lower it only with a reason.
const BASELINE: usize = 3271;
/// Cases expecting a parse error that the parser rejects (22 of 24; the other two fail on
/// semantic checks ksqlDB happens to run while parsing).
const NEGATIVE_BASELINE: usize = 22;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/ksqldb-qtt/query-validation-tests")
}

/// Removes `//` and `/* */` comments outside JSON strings (the files are Jackson JSON with comments).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                out.extend(chars.next());
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if previous == '*' && c == '/' {
                        break;
                    }
                    previous = c;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Whether a case expects its statements to fail parsing.
fn expects_parse_error(case: &Value) -> bool {
    let Some(exception) = case.get("expectedException") else {
        return false;
    };
    let text = |field: &str| {
        exception
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase()
    };
    let (kind, message) = (text("type"), text("message"));
    kind.contains("parsefailed")
        || [
            "syntax error",
            "mismatched input",
            "extraneous input",
            "no viable alternative",
        ]
        .iter()
        .any(|needle| message.contains(needle))
}

#[test]
fn qtt_statements_parse() {
    let dir = corpus_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: QTT corpus not found at {}", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut total, mut parsed) = (0usize, 0usize);
    let mut failures = Vec::new();
    let (mut negative_total, mut negative_rejected) = (0usize, 0usize);
    let mut negative_accepted = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable corpus file");
        let json: Value = serde_json::from_str(&strip_comments(&text))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        for case in json["tests"].as_array().into_iter().flatten() {
            if expects_parse_error(case) {
                let statements = case["statements"].as_array().into_iter().flatten();
                let rejected = statements
                    .filter_map(Value::as_str)
                    .any(|sql| flusso_sql::parse(sql).is_err());
                negative_total += 1;
                if rejected {
                    negative_rejected += 1;
                } else {
                    negative_accepted.push(format!("{name} / {}", case["name"]));
                }
                continue;
            }
            for statement in case["statements"].as_array().into_iter().flatten() {
                let Some(sql) = statement.as_str() else {
                    continue;
                };
                total += 1;
                match flusso_sql::parse(sql) {
                    Ok(_) => parsed += 1,
                    Err(e) => failures.push(format!("{name} / {}: {e}\n    {sql}", case["name"])),
                }
            }
        }
    }
    println!(
        "parsed {parsed} of {total} QTT statements ({} files)",
        files.len()
    );
    for failure in failures.iter().take(20) {
        println!("FAIL {failure}");
    }
    println!(
        "rejected {negative_rejected} of {negative_total} cases expecting a parse error \
         (the others need semantic checks)"
    );
    for case in negative_accepted.iter().take(20) {
        println!("ACCEPTED {case}");
    }
    assert!(
        parsed >= BASELINE,
        "parsed {parsed}, below the baseline {BASELINE}"
    );
    assert!(
        negative_rejected >= NEGATIVE_BASELINE,
        "rejected {negative_rejected}, below the baseline {NEGATIVE_BASELINE}"
    );
}
