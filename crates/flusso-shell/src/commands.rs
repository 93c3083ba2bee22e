//! The shell's own commands (ksqlDB's CLI-specific commands) and the statements it keeps
//! locally: SET/UNSET, DEFINE/UNDEFINE, SHOW VARIABLES.

use crate::split::{leading_words, split_unquoted_whitespace, take_string_literal, unquote};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliCommand {
    Help,
    Clear,
    Exit,
    History,
    Output(Option<String>),
    Server(Option<String>),
    RunScript(String),
    Spool(String),
    SetCli(String, String),
    Version,
    RequestPipelining(Option<String>),
    /// A command with the wrong number of arguments: the message to print.
    Invalid(String),
}

struct Spec {
    name: &'static str,
    min: usize,
    max: usize,
    help: &'static str,
}

const SPECS: &[Spec] = &[
    Spec {
        name: "help",
        min: 0,
        max: 0,
        help: "help:\n\tShow this message.",
    },
    Spec {
        name: "clear",
        min: 0,
        max: 0,
        help: "clear:\n\tClear the current terminal.",
    },
    Spec {
        name: "output",
        min: 0,
        max: 1,
        help: "output:\n\tView the current output format.\n\noutput <format>;\n\n\tSet the output format to <format> (valid formats: 'JSON', 'TABULAR')\n\n\tFor example: \"output JSON;\"\n",
    },
    Spec {
        name: "history",
        min: 0,
        max: 0,
        help: "history:\n\tShow previous lines entered during the current CLI session. You can use up and down arrow keys to view previous lines.",
    },
    Spec {
        name: "version",
        min: 0,
        max: 0,
        help: "version:\n\tGet the current Flusso version.",
    },
    Spec {
        name: "exit",
        min: 0,
        max: 0,
        help: "exit:\n\tExit the CLI.",
    },
    Spec {
        name: "run script",
        min: 1,
        max: 1,
        help: "run script <path_to_sql_file>:\n\tLoad and run the statements in the supplied file.\n\tNote: the file must be UTF-8 encoded.",
    },
    Spec {
        name: "server",
        min: 0,
        max: 1,
        help: "server:\n\tShow the current server\n\nserver <server>:\n\tChange the current server to <server>\n\t example: \"server http://my.awesome.server.com:9098;\"",
    },
    Spec {
        name: "request-pipelining",
        min: 0,
        max: 1,
        help: "request-pipelining:\n\tView the current setting. If 'ON', commands will be executed without waiting for previous commands to finish. If 'OFF', newly issued commands will wait until all prior commands have finished. Defaults to 'OFF'.\n\nrequest-pipelining <ON/OFF>:\n\tUpdate the setting as specified.\n\tFor example: \"request-pipelining OFF;\"",
    },
    Spec {
        name: "spool",
        min: 1,
        max: 1,
        help: "spool [<path_to_file>|OFF]: \n\tStores issued commands and their results into a file. Only one spool may \n\tbe active at a time and can be closed by issuing ``SPOOL OFF``. Commands are \n\t prefixed with ``flusso> `` to differentiate from output.",
    },
    Spec {
        name: "set cli",
        min: 2,
        max: 2,
        help: "set cli <property> <value>:\n\tSets a CLI local property. NOTE that this differs from setting a KSQL property with \"SET 'property'='value'\" in that it does not affect the server.\n\tProperties: WRAP (ON/OFF, whether long values wrap in query results) and COLUMN-WIDTH (0 = fit the terminal).",
    },
];

/// The help text of `help`.
pub fn help_text() -> String {
    let mut out = String::from(
        "\nDescription:\n\tThe Flusso shell is a terminal-based interactive shell for running \
         ksqlDB-dialect SQL against a Flusso server. Statements end with a semicolon and may \
         span several lines. The commands below are handled by the shell itself.\n\n",
    );
    for spec in SPECS {
        out.push_str(spec.help);
        out.push_str("\n\n");
    }
    out.push_str(
        "\nKeyboard shortcuts:\n\n\
         \x20   The Flusso shell supports these keyboard shortcuts:\n\n\
         CTRL+D:\n\tEnd your Flusso shell session.\n\
         CTRL+C:\n\tClear the current line, or stop a running query.\n\
         CTRL+R:\n\tSearch your command history.\n\
         TAB:\n\tComplete keywords, stream, table, column and function names.\n\
         Up and Down arrow keys:\n\tScroll up or down through your command history.\n\n\
         Default behavior:\n\n\
         \x20   Lines are read one at a time and are sent to the server as SQL unless one of the \
         following is true:\n\n\
         \x20   1. The line is empty or entirely whitespace. In this case, no request is made to \
         the server.\n\n\
         \x20   2. The line is not an in-built CLI command and does not end with a semi-colon. In \
         this case, the shell enters multi-line mode where lines are continuously read until a \
         line is encountered that is terminated with a semi-colon, the concatenation of all \
         lines read during this time is sent to the server as SQL.\n\n\
         \x20   SET 'property'='value', UNSET 'property', DEFINE name='value', UNDEFINE name and \
         SHOW VARIABLES are kept by the shell for the session and sent with every request.\n",
    );
    out
}

/// The shell command `line` is, if it is one (case-insensitive, trailing `;` optional).
pub fn parse_cli(line: &str) -> Option<CliCommand> {
    let stripped = crate::split::strip_line_comments(line);
    let trimmed = stripped.trim().trim_end_matches(';').trim_end();
    let parts = split_unquoted_whitespace(trimmed);
    let first = parts.first()?.to_lowercase();
    let spec = SPECS.iter().find(|s| {
        let words: Vec<&str> = s.name.split(' ').collect();
        words.len() <= parts.len()
            && words
                .iter()
                .zip(&parts)
                .all(|(w, p)| p.eq_ignore_ascii_case(w))
            && first == words[0]
    })?;
    let skip = spec.name.split(' ').count();
    let args: Vec<String> = parts[skip..].iter().map(|a| unquote(a)).collect();
    if args.len() < spec.min {
        return Some(CliCommand::Invalid(format!(
            "Too few parameters\n{}",
            spec.help
        )));
    }
    if args.len() > spec.max {
        return Some(CliCommand::Invalid(format!(
            "Too many parameters\n{}",
            spec.help
        )));
    }
    let arg = |i: usize| args.get(i).cloned();
    Some(match spec.name {
        "help" => CliCommand::Help,
        "clear" => CliCommand::Clear,
        "exit" => CliCommand::Exit,
        "history" => CliCommand::History,
        "version" => CliCommand::Version,
        "output" => CliCommand::Output(arg(0)),
        "server" => CliCommand::Server(arg(0)),
        "request-pipelining" => CliCommand::RequestPipelining(arg(0)),
        "run script" => CliCommand::RunScript(args[0].clone()),
        "spool" => CliCommand::Spool(args[0].clone()),
        "set cli" => CliCommand::SetCli(args[0].clone(), args[1].clone()),
        _ => return None,
    })
}

/// A statement the shell handles itself, or routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local {
    Set(String, String),
    Unset(String),
    Define(String, String),
    Undefine(String),
    ListVariables,
    /// A push or pull query: `/query`.
    Query,
    /// `PRINT topic`: `/query`, answered in text lines.
    Print,
    /// Anything else: `/ksql`.
    Server,
}

/// Sorts a statement (its text, `;` included or not).
pub fn classify(statement: &str) -> Result<Local, String> {
    let words = leading_words(statement, 2);
    let first = words.first().map(String::as_str).unwrap_or("");
    let second = words.get(1).map(String::as_str).unwrap_or("");
    let text = crate::split::strip_line_comments(statement);
    let text = text.trim().trim_end_matches(';').trim_end();
    let after_keyword = |kw: &str| text[kw.len()..].trim_start().to_string();
    match first {
        "SELECT" => Ok(Local::Query),
        "PRINT" => Ok(Local::Print),
        "SET" => {
            let rest = after_keyword("SET");
            let err = || "Invalid SET statement: expected SET 'property'='value';".to_string();
            let (name, rest) = take_string_literal(&rest).ok_or_else(err)?;
            let rest = rest.trim_start().strip_prefix('=').ok_or_else(err)?;
            let (value, rest) = take_string_literal(rest).ok_or_else(err)?;
            if !rest.trim().is_empty() {
                return Err(err());
            }
            Ok(Local::Set(name, value))
        }
        "UNSET" => {
            let rest = after_keyword("UNSET");
            let err = || "Invalid UNSET statement: expected UNSET 'property';".to_string();
            let (name, rest) = take_string_literal(&rest).ok_or_else(err)?;
            if !rest.trim().is_empty() {
                return Err(err());
            }
            Ok(Local::Unset(name))
        }
        "DEFINE" => {
            let rest = after_keyword("DEFINE");
            let err = || "Invalid DEFINE statement: expected DEFINE name = 'value';".to_string();
            let (name, rest) = take_identifier(&rest).ok_or_else(err)?;
            let rest = rest.trim_start().strip_prefix('=').ok_or_else(err)?;
            let (value, rest) = take_string_literal(rest).ok_or_else(err)?;
            if !rest.trim().is_empty() {
                return Err(err());
            }
            Ok(Local::Define(name, value))
        }
        "UNDEFINE" => {
            let rest = after_keyword("UNDEFINE");
            let err = || "Invalid UNDEFINE statement: expected UNDEFINE name;".to_string();
            let (name, rest) = take_identifier(&rest).ok_or_else(err)?;
            if !rest.trim().is_empty() {
                return Err(err());
            }
            Ok(Local::Undefine(name))
        }
        "SHOW" | "LIST" if second == "VARIABLES" && words.len() == 2 => {
            let rest = text.split_whitespace().nth(2);
            if rest.is_some() {
                Ok(Local::Server)
            } else {
                Ok(Local::ListVariables)
            }
        }
        _ => Ok(Local::Server),
    }
}

fn take_identifier(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    if end == 0 || s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((s[..end].to_string(), &s[end..]))
}

/// Whether a statement changes the catalog (so completion names are refreshed).
pub fn is_ddl(statement: &str) -> bool {
    matches!(
        leading_words(statement, 1).first().map(String::as_str),
        Some("CREATE" | "DROP" | "ALTER")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_commands() {
        assert_eq!(parse_cli("help"), Some(CliCommand::Help));
        assert_eq!(parse_cli("  HELP ;"), Some(CliCommand::Help));
        assert_eq!(parse_cli("exit;"), Some(CliCommand::Exit));
        assert_eq!(
            parse_cli("output json"),
            Some(CliCommand::Output(Some("json".into())))
        );
        assert_eq!(parse_cli("output"), Some(CliCommand::Output(None)));
        assert_eq!(
            parse_cli("RUN SCRIPT '/tmp/my file.sql';"),
            Some(CliCommand::RunScript("/tmp/my file.sql".into()))
        );
        assert_eq!(
            parse_cli("set cli WRAP off"),
            Some(CliCommand::SetCli("WRAP".into(), "off".into()))
        );
        assert_eq!(
            parse_cli("request-pipelining ON;"),
            Some(CliCommand::RequestPipelining(Some("ON".into())))
        );
        assert_eq!(
            parse_cli("server http://x:1"),
            Some(CliCommand::Server(Some("http://x:1".into())))
        );
        assert!(
            matches!(parse_cli("spool"), Some(CliCommand::Invalid(m)) if m.starts_with("Too few parameters"))
        );
        assert!(
            matches!(parse_cli("exit now"), Some(CliCommand::Invalid(m)) if m.starts_with("Too many parameters"))
        );
        assert_eq!(parse_cli("SET 'a'='b';"), None);
        assert_eq!(parse_cli("SHOW STREAMS;"), None);
        assert_eq!(parse_cli("helpme"), None);
        assert_eq!(parse_cli("run"), None);
        assert_eq!(parse_cli(""), None);
    }

    #[test]
    fn local_statements() {
        assert_eq!(
            classify("SET 'auto.offset.reset' = 'earliest';"),
            Ok(Local::Set("auto.offset.reset".into(), "earliest".into()))
        );
        assert_eq!(
            classify("set 'a'='it''s'"),
            Ok(Local::Set("a".into(), "it's".into()))
        );
        assert!(classify("SET 'a';").is_err());
        assert_eq!(classify("UNSET 'a';"), Ok(Local::Unset("a".into())));
        assert_eq!(
            classify("DEFINE topic = 'orders';"),
            Ok(Local::Define("topic".into(), "orders".into()))
        );
        assert!(classify("DEFINE 1x = 'a';").is_err());
        assert_eq!(
            classify("undefine topic;"),
            Ok(Local::Undefine("topic".into()))
        );
        assert_eq!(classify("SHOW VARIABLES;"), Ok(Local::ListVariables));
        assert_eq!(classify("list variables"), Ok(Local::ListVariables));
        assert_eq!(classify("select * from s;"), Ok(Local::Query));
        assert_eq!(
            classify("-- c\nPRINT 't' FROM BEGINNING;"),
            Ok(Local::Print)
        );
        assert_eq!(classify("SHOW STREAMS;"), Ok(Local::Server));
        assert_eq!(classify("EXPLAIN SELECT * FROM s;"), Ok(Local::Server));
        assert!(is_ddl("create stream x (a int) with (kafka_topic='x');"));
        assert!(!is_ddl("INSERT INTO x VALUES (1);"));
    }

    #[test]
    fn help_lists_every_command() {
        let h = help_text();
        for spec in SPECS {
            assert!(h.contains(spec.help));
        }
    }
}
