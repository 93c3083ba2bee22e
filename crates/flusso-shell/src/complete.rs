//! Tab completion: SQL keywords, the shell's own commands, and the server's streams, tables,
//! columns and functions (fetched by the shell, kept here).

use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

/// ksqlDB's keywords, types, and the WITH properties people type most.
pub const KEYWORDS: &[&str] = &[
    "ADD",
    "ADVANCE",
    "ALL",
    "ALTER",
    "AND",
    "ARRAY",
    "AS",
    "ASSERT",
    "AT",
    "AVRO",
    "BEGINNING",
    "BETWEEN",
    "BIGINT",
    "BOOLEAN",
    "BY",
    "BYTES",
    "CASE",
    "CAST",
    "CHANGES",
    "COLUMN",
    "CONNECTOR",
    "CONNECTORS",
    "CREATE",
    "DATE",
    "DAY",
    "DAYS",
    "DECIMAL",
    "DEFINE",
    "DELETE",
    "DELIMITED",
    "DESCRIBE",
    "DISTINCT",
    "DOUBLE",
    "DROP",
    "ELSE",
    "EMIT",
    "END",
    "ESCAPE",
    "EXISTS",
    "EXPLAIN",
    "EXTENDED",
    "FALSE",
    "FINAL",
    "FORMAT",
    "FROM",
    "FULL",
    "FUNCTION",
    "FUNCTIONS",
    "GRACE",
    "GROUP",
    "HAVING",
    "HEADER",
    "HEADERS",
    "HOPPING",
    "HOUR",
    "HOURS",
    "IF",
    "IN",
    "INNER",
    "INSERT",
    "INT",
    "INTEGER",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "JSON",
    "JSON_SR",
    "KAFKA",
    "KAFKA_TOPIC",
    "KEY",
    "KEY_FORMAT",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LIST",
    "MAP",
    "MILLISECOND",
    "MILLISECONDS",
    "MINUTE",
    "MINUTES",
    "NONE",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "OUTER",
    "PARTITION",
    "PARTITIONS",
    "PAUSE",
    "PERIOD",
    "PLUGINS",
    "PRIMARY",
    "PRINT",
    "PROPERTIES",
    "PROTOBUF",
    "QUERIES",
    "REPLACE",
    "REPLICAS",
    "RESUME",
    "RETENTION",
    "RIGHT",
    "ROWOFFSET",
    "ROWPARTITION",
    "ROWTIME",
    "RUN",
    "SAMPLE",
    "SCHEMA",
    "SCRIPT",
    "SECOND",
    "SECONDS",
    "SELECT",
    "SESSION",
    "SET",
    "SHOW",
    "SINK",
    "SIZE",
    "SOURCE",
    "STREAM",
    "STREAMS",
    "STRING",
    "STRUCT",
    "TABLE",
    "TABLES",
    "TERMINATE",
    "THEN",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMP_FORMAT",
    "TIMEOUT",
    "TOPIC",
    "TOPICS",
    "TRUE",
    "TUMBLING",
    "TYPE",
    "TYPES",
    "UNDEFINE",
    "UNSET",
    "VALUES",
    "VALUE_DELIMITER",
    "VALUE_FORMAT",
    "VARCHAR",
    "VARIABLES",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WINDOWEND",
    "WINDOWSTART",
    "WITH",
    "WITHIN",
    "WRAP_SINGLE_VALUE",
];

/// The shell's own commands, offered at the start of a line.
pub const COMMANDS: &[&str] = &[
    "clear",
    "exit",
    "help",
    "history",
    "output",
    "request-pipelining",
    "run script",
    "server",
    "spool",
    "version",
];

/// Keywords after which a source name comes.
const SOURCE_BEFORE: &[&str] = &["FROM", "JOIN", "INTO", "DESCRIBE", "EXTENDED", "PRINT"];

/// What the server has, for completion.
#[derive(Debug, Default, Clone)]
pub struct Names {
    pub sources: Vec<String>,
    pub columns: Vec<String>,
    pub functions: Vec<String>,
}

pub struct ShellHelper {
    pub names: Arc<Mutex<Names>>,
}

/// The candidates for the word `word`, which starts at `start` in `line`.
pub fn candidates(names: &Names, line: &str, start: usize, word: &str) -> Vec<String> {
    if word.is_empty() {
        // After FROM, JOIN, INTO, DESCRIBE…: the sources.
        let previous = line[..start]
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .rfind(|w| !w.is_empty())
            .unwrap_or("")
            .to_uppercase();
        if SOURCE_BEFORE.contains(&previous.as_str()) {
            let mut out = names.sources.clone();
            out.sort();
            return out;
        }
        return Vec::new();
    }
    let upper = word.to_uppercase();
    let lower_typed = word.chars().any(char::is_lowercase) && !word.chars().any(char::is_uppercase);
    let mut out: Vec<String> = Vec::new();
    let mut offer = |candidate: &str, fold: bool| {
        if candidate.to_uppercase().starts_with(&upper) && candidate.len() > word.len() {
            let c = if fold && lower_typed {
                candidate.to_lowercase()
            } else if fold {
                candidate.to_uppercase()
            } else {
                candidate.to_string()
            };
            if !out.contains(&c) {
                out.push(c);
            }
        }
    };
    if line[..start].trim().is_empty() {
        for c in COMMANDS {
            offer(c, false);
        }
    }
    for k in KEYWORDS {
        offer(k, true);
    }
    for n in names
        .sources
        .iter()
        .chain(&names.columns)
        .chain(&names.functions)
    {
        // Upper-case names are case-insensitive in SQL: follow the user's case.
        let fold = n.chars().all(|c| !c.is_lowercase());
        offer(n, fold);
    }
    out.sort();
    out
}

/// Where the word before `pos` starts.
pub fn word_start(line: &str, pos: usize) -> usize {
    line[..pos]
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0)
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = word_start(line, pos);
        let word = &line[start..pos];
        let names = self.names.lock().map(|n| n.clone()).unwrap_or_default();
        let found = candidates(&names, line, start, word)
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, found))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            sources: vec!["PAGEVIEWS".into(), "USERS".into(), "lower_case".into()],
            columns: vec!["PAGEID".into(), "USERID".into()],
            functions: vec!["UCASE".into(), "PARSE_DATE".into()],
        }
    }

    #[test]
    fn keywords_and_names_follow_the_typed_case() {
        let n = names();
        assert_eq!(
            candidates(&n, "SELECT * FROM PA", 14, "PA"),
            vec![
                "PAGEID",
                "PAGEVIEWS",
                "PARSE_DATE",
                "PARTITION",
                "PARTITIONS",
                "PAUSE"
            ]
        );
        assert_eq!(
            candidates(&n, "select * from pa", 14, "pa"),
            vec![
                "pageid",
                "pageviews",
                "parse_date",
                "partition",
                "partitions",
                "pause"
            ]
        );
        assert_eq!(
            candidates(&n, "SELECT * FROM lo", 14, "lo"),
            vec!["lower_case"]
        );
        assert_eq!(
            candidates(&n, "SELECT u", 7, "u"),
            vec!["ucase", "undefine", "unset", "userid", "users"]
        );
    }

    #[test]
    fn commands_only_at_the_start() {
        let n = Names::default();
        assert!(candidates(&n, "ver", 0, "ver").contains(&"version".to_string()));
        assert!(!candidates(&n, "SHOW ver", 5, "ver").contains(&"version".to_string()));
        assert!(candidates(&n, "x", 0, "").is_empty());
        let n = names();
        assert_eq!(
            candidates(&n, "SELECT * FROM ", 14, ""),
            vec!["PAGEVIEWS", "USERS", "lower_case"]
        );
        assert!(candidates(&n, "SELECT ", 7, "").is_empty());
    }

    #[test]
    fn word_boundaries() {
        assert_eq!(word_start("SELECT a.bc", 11), 9);
        assert_eq!(word_start("FROM (x", 7), 6);
        assert_eq!(word_start("abc", 3), 0);
        assert_eq!(word_start("request-pi", 10), 0);
    }
}
