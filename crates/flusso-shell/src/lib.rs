//! `flusso shell`: the interactive SQL shell, a stand-in for ksqlDB's `ksql` CLI. It talks to a
//! Flusso (or ksqlDB) server over HTTP only — `POST /ksql` for statements, `POST /query` for
//! streamed queries and PRINT, `GET /info` — and prints the answers as ksqlDB's CLI does.

mod client;
mod commands;
mod complete;
mod render;
mod shell;
mod split;
mod stream;
mod table;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use rustyline::error::ReadlineError;
use rustyline::{CompletionType, Config, Editor};

use crate::commands::{parse_cli, CliCommand};
use crate::complete::ShellHelper;
use crate::shell::{history_path, OutputFormat, Shell};
use crate::split::{is_complete, strip_line_comments};

pub use crate::shell::VERSION;

const DEFAULT_SERVER: &str = "http://127.0.0.1:8088";
const PROMPT: &str = "flusso> ";
const CONTINUATION: &str = "      > ";

/// Options of `flusso shell` (ksqlDB's `ksql` options).
#[derive(Debug, Clone, clap::Args)]
pub struct ShellArgs {
    /// The server's HTTP address [default: http://127.0.0.1:8088].
    #[arg(value_name = "SERVER_URL")]
    pub server_url: Option<String>,
    /// The server's HTTP address (same as SERVER_URL).
    #[arg(long = "server", value_name = "URL")]
    pub server: Option<String>,
    /// Run these statements, then quit.
    #[arg(
        short = 'e',
        long = "execute",
        value_name = "SQL",
        conflicts_with = "file"
    )]
    pub execute: Option<String>,
    /// Run the statements of this file, then quit.
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Define a session variable, as DEFINE does (repeatable).
    #[arg(short = 'd', long = "define", value_name = "NAME=VALUE")]
    pub define: Vec<String>,
    /// Output format: TABULAR or JSON.
    #[arg(long = "output", value_name = "FORMAT", default_value = "TABULAR")]
    pub output: String,
    /// Stop push queries after this many rows.
    #[arg(long = "query-row-limit", value_name = "N")]
    pub query_row_limit: Option<u64>,
    /// Stop push queries after this many milliseconds.
    #[arg(long = "query-timeout", value_name = "MS")]
    pub query_timeout: Option<u64>,
    /// A properties file (name=value lines), applied as SET statements.
    #[arg(long = "config-file", value_name = "PATH")]
    pub config_file: Option<PathBuf>,
    /// User name for HTTP basic authentication.
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,
    /// Password for HTTP basic authentication.
    #[arg(short = 'p', long = "password", value_name = "PASSWORD")]
    pub password: Option<String>,
}

/// Runs the shell; returns the process's exit code.
pub fn run(args: ShellArgs) -> anyhow::Result<i32> {
    let options = options(&args)?;
    let mut shell = Shell::new(options, shell::Out::stdout())?;

    if let Some(sql) = &args.execute {
        return Ok(if shell.run_text(sql) { 0 } else { 1 });
    }
    if let Some(path) = &args.file {
        let ok = shell.run_script(&path.to_string_lossy());
        return Ok(if ok { 0 } else { 1 });
    }
    interactive(&mut shell)?;
    Ok(0)
}

fn options(args: &ShellArgs) -> anyhow::Result<shell::Options> {
    let output = OutputFormat::parse(&args.output).with_context(|| {
        format!(
            "invalid --output '{}' (valid formats: 'JSON', 'TABULAR')",
            args.output
        )
    })?;
    let mut variables = Vec::new();
    for d in &args.define {
        let Some((name, value)) = d.split_once('=') else {
            bail!("invalid --define '{d}': expected name=value");
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            bail!("invalid variable name in --define '{d}'");
        }
        variables.retain(|(k, _): &(String, String)| !k.eq_ignore_ascii_case(name));
        variables.push((name.to_string(), value.to_string()));
    }
    let properties = match &args.config_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --config-file {}", path.display()))?;
            parse_properties(&text)
        }
        None => Vec::new(),
    };
    let server = args
        .server
        .clone()
        .or_else(|| args.server_url.clone())
        .unwrap_or_else(|| DEFAULT_SERVER.to_string());
    Ok(shell::Options {
        server,
        auth: args.user.clone().map(|u| (u, args.password.clone())),
        output,
        query_row_limit: args.query_row_limit,
        query_timeout: args.query_timeout.map(Duration::from_millis),
        properties,
        variables,
    })
}

/// A Java-style properties file: `name=value` or `name: value` lines, `#`/`!` comments.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let split_at = line.find(['=', ':']);
        let (k, v) = match split_at {
            Some(i) => (line[..i].trim(), line[i + 1..].trim()),
            None => (line, ""),
        };
        out.retain(|(name, _)| name != k);
        out.push((k.to_string(), v.to_string()));
    }
    out
}

fn interactive(shell: &mut Shell) -> anyhow::Result<()> {
    let config = Config::builder()
        .max_history_size(1000)?
        .history_ignore_dups(true)?
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<ShellHelper, _> = Editor::with_config(config)?;
    editor.set_helper(Some(ShellHelper {
        names: shell.names.clone(),
    }));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    shell.editor = Some(editor);

    let reachable = shell.check_server();
    let banner = shell.banner(reachable);
    shell.out.write(&banner);
    if !reachable {
        shell.names_dirty = false;
    }

    let mut buffer = String::new();
    loop {
        if shell.names_dirty {
            shell.refresh_names();
        }
        let prompt = if buffer.is_empty() {
            PROMPT
        } else {
            CONTINUATION
        };
        let line = match shell.editor.as_mut().map(|e| e.readline(prompt)) {
            Some(Ok(line)) => line,
            Some(Err(ReadlineError::Interrupted)) => {
                buffer.clear();
                continue;
            }
            Some(Err(ReadlineError::Eof)) | None => break,
            Some(Err(e)) => return Err(e.into()),
        };
        if buffer.is_empty() {
            if strip_line_comments(&line).trim().is_empty() {
                continue;
            }
            if let Some(cmd) = parse_cli(&line) {
                remember(shell, &history, line.trim());
                shell.out.echo_command(line.trim());
                let exit = cmd == CliCommand::Exit;
                shell.run_command(cmd);
                if exit || shell.exit_requested {
                    break;
                }
                continue;
            }
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if is_complete(&buffer) {
            let text = std::mem::take(&mut buffer);
            let entry = text.trim_end();
            remember(shell, &history, entry);
            shell.out.echo_command(entry);
            shell.run_text(&text);
            if shell.exit_requested {
                break;
            }
        }
    }
    shell.out.line("Exiting Flusso.");
    if let (Some(e), Some(path)) = (shell.editor.as_mut(), &history) {
        let _ = e.save_history(path);
    }
    Ok(())
}

/// Adds an entry to the history and saves the history file.
fn remember(shell: &mut Shell, path: &Option<PathBuf>, entry: &str) {
    if let Some(e) = shell.editor.as_mut() {
        let _ = e.add_history_entry(entry);
        if let Some(p) = path {
            let _ = e.save_history(p);
        }
    }
}
