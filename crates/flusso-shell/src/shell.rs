//! The session: what the shell keeps (server, properties, variables, settings, spool), how it
//! routes each statement, and how it prints the answers.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use rustyline::history::DefaultHistory;
use rustyline::Editor;
use serde_json::{json, Map, Value};

use crate::client::{Client, RequestError};
use crate::commands::{classify, help_text, is_ddl, parse_cli, CliCommand, Local};
use crate::complete::{Names, ShellHelper};
use crate::render::{render_entities, schema_column_names, value_string, variables_table};
use crate::split::split;
use crate::stream::{ArrayStream, LineStream};
use crate::table::{cell_width, separator, tabular_header, tabular_row};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Tabular,
    Json,
}

impl OutputFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_uppercase().as_str() {
            "TABULAR" => Some(Self::Tabular),
            "JSON" => Some(Self::Json),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Tabular => "TABULAR",
            Self::Json => "JSON",
        }
    }
}

/// Where output goes: the terminal (or a buffer, in tests), and the spool file if one is set.
pub struct Out {
    capture: Option<String>,
    spool: Option<(PathBuf, std::fs::File)>,
    color: bool,
}

impl Out {
    pub fn stdout() -> Self {
        Self {
            capture: None,
            spool: None,
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// Output kept in memory (tests).
    #[cfg(test)]
    pub fn captured() -> Self {
        Self {
            capture: Some(String::new()),
            spool: None,
            color: false,
        }
    }

    #[cfg(test)]
    pub fn take_captured(&mut self) -> String {
        self.capture
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    pub fn write(&mut self, s: &str) {
        match &mut self.capture {
            Some(buf) => buf.push_str(s),
            None => {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(s.as_bytes());
                let _ = stdout.flush();
            }
        }
        if let Some((_, f)) = &mut self.spool {
            let _ = f.write_all(s.as_bytes());
        }
    }

    /// Whether output goes to a terminal.
    pub fn is_terminal(&self) -> bool {
        self.capture.is_none() && std::io::stdout().is_terminal()
    }

    pub fn line(&mut self, s: &str) {
        self.write(s);
        self.write("\n");
    }

    /// An error line: red on a terminal.
    pub fn error(&mut self, s: &str) {
        if self.color {
            match &mut self.capture {
                Some(buf) => buf.push_str(s),
                None => {
                    let mut stdout = std::io::stdout().lock();
                    let _ = writeln!(stdout, "\x1b[31m{s}\x1b[0m");
                    let _ = stdout.flush();
                }
            }
            if let Some((_, f)) = &mut self.spool {
                let _ = writeln!(f, "{s}");
            }
        } else {
            self.line(s);
        }
    }

    /// A command typed at the prompt, copied to the spool only.
    pub fn echo_command(&mut self, line: &str) {
        if let Some((_, f)) = &mut self.spool {
            let _ = write!(f, "\nflusso> {line}\n");
        }
    }
}

/// Shell settings that come from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub server: String,
    pub auth: Option<(String, Option<String>)>,
    pub output: OutputFormat,
    pub query_row_limit: Option<u64>,
    pub query_timeout: Option<Duration>,
    pub properties: Vec<(String, String)>,
    pub variables: Vec<(String, String)>,
}

pub struct Shell {
    rt: Arc<tokio::runtime::Runtime>,
    client: Client,
    auth: Option<(String, Option<String>)>,
    pub out: Out,
    output: OutputFormat,
    wrap: bool,
    column_width: usize,
    row_limit: Option<u64>,
    query_timeout: Option<Duration>,
    properties: Vec<(String, String)>,
    variables: Vec<(String, String)>,
    pipelining: bool,
    last_sequence: Option<i64>,
    pub editor: Option<Editor<ShellHelper, DefaultHistory>>,
    pub names: Arc<Mutex<Names>>,
    pub names_dirty: bool,
    server_version: Option<String>,
    pub exit_requested: bool,
    /// Width of the terminal when the output is one.
    width_override: Option<usize>,
    script_depth: usize,
}

/// How a request ended.
enum Waited<T> {
    Done(T),
    Interrupted,
}

impl Shell {
    pub fn new(options: Options, out: Out) -> anyhow::Result<Self> {
        // One worker thread: connections keep being driven between requests, so a query's
        // connection is closed as soon as its response is dropped (that is what ends it).
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("flusso-shell")
            .enable_all()
            .build()?;
        let client = Client::new(&options.server, options.auth.clone())?;
        Ok(Self {
            rt: Arc::new(rt),
            client,
            auth: options.auth,
            out,
            output: options.output,
            wrap: true,
            column_width: 0,
            row_limit: options.query_row_limit,
            query_timeout: options.query_timeout,
            properties: options.properties,
            variables: options.variables,
            pipelining: false,
            last_sequence: None,
            editor: None,
            names: Arc::new(Mutex::new(Names::default())),
            names_dirty: true,
            server_version: None,
            exit_requested: false,
            width_override: None,
            script_depth: 0,
        })
    }

    /// Fixes the terminal width (tests).
    #[cfg(test)]
    pub fn set_width(&mut self, width: usize) {
        self.width_override = Some(width);
    }

    fn width(&mut self) -> Option<usize> {
        if self.width_override.is_some() {
            return self.width_override;
        }
        if !std::io::stdout().is_terminal() {
            return None;
        }
        self.editor
            .as_mut()
            .and_then(|e| e.dimensions())
            .map(|(w, _)| usize::from(w))
            .filter(|w| *w > 0)
    }

    /// Runs `fut`, or stops waiting when Ctrl-C is pressed.
    fn wait<F: Future>(&self, fut: F) -> Waited<F::Output> {
        self.rt.block_on(async {
            tokio::select! {
                r = fut => Waited::Done(r),
                _ = interrupted() => Waited::Interrupted,
            }
        })
    }

    fn unreachable_message(&self, reason: &str) -> String {
        format!(
            "Could not reach the Flusso server at {}: {reason}. Start it with `flusso`, or pass \
             --server URL.",
            self.client.base()
        )
    }

    /// Asks the server for `/info`; prints a warning when it cannot be reached. Returns whether
    /// the server answered.
    pub fn check_server(&mut self) -> bool {
        let client = self.client.clone();
        match self.wait(async move { client.info().await }) {
            Waited::Done(Ok(info)) => {
                self.server_version = info
                    .as_ref()
                    .and_then(|i| i.get("version"))
                    .and_then(Value::as_str)
                    .map(String::from);
                true
            }
            Waited::Done(Err(RequestError::Unreachable(reason))) => {
                let msg = self.unreachable_message(&reason);
                self.out.error(&msg);
                false
            }
            Waited::Done(Err(RequestError::Status { status, body, .. })) => {
                let msg = format!(
                    "The server at {} answered /info with HTTP {status}: {}",
                    self.client.base(),
                    error_text(&body)
                );
                self.out.error(&msg);
                true
            }
            Waited::Done(Err(RequestError::Other(msg))) => {
                self.out.error(&msg);
                false
            }
            Waited::Interrupted => false,
        }
    }

    /// The start-up banner (after `check_server`).
    pub fn banner(&mut self, reachable: bool) -> String {
        let server = match (&self.server_version, reachable) {
            (Some(v), true) => format!("Server: {} (Flusso {v})", self.client.base()),
            (None, true) => format!("Server: {}", self.client.base()),
            (_, false) => format!("Server: {} (not reachable)", self.client.base()),
        };
        format!(
            "\nFlusso shell {VERSION} - streaming SQL in the ksqlDB dialect\n{server}\n\nType \
             'help' for commands, Ctrl-D to exit.\n\n"
        )
    }

    fn request_body(&self, ksql: &str) -> Value {
        let props: Map<String, Value> = self
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let vars: Map<String, Value> = self
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut body = json!({
            "ksql": ksql,
            "streamsProperties": props,
            "sessionVariables": vars,
        });
        if !self.pipelining {
            if let Some(seq) = self.last_sequence {
                body["commandSequenceNumber"] = json!(seq);
            }
        }
        body
    }

    /// Runs every statement of `text` (and the shell's commands among them). Stops at the first
    /// that fails and returns false.
    pub fn run_text(&mut self, text: &str) -> bool {
        let mut batch: Vec<String> = Vec::new();
        for statement in split(text) {
            if self.exit_requested {
                break;
            }
            let stmt = statement.text;
            if let Some(cmd) = parse_cli(&stmt) {
                if !self.flush_batch(&mut batch) {
                    return false;
                }
                if !self.run_command(cmd) {
                    return false;
                }
                continue;
            }
            let kind = match classify(&stmt) {
                Ok(k) => k,
                Err(msg) => {
                    let _ = self.flush_batch(&mut batch);
                    self.out.error(&msg);
                    return false;
                }
            };
            if kind == Local::Server {
                batch.push(stmt);
                continue;
            }
            if !self.flush_batch(&mut batch) {
                return false;
            }
            let ok = match kind {
                Local::Query => self.run_query(&stmt, false),
                Local::Print => self.run_query(&stmt, true),
                Local::Set(name, value) => {
                    self.set_property(name, value);
                    true
                }
                Local::Unset(name) => self.unset_property(&name),
                Local::Define(name, value) => {
                    self.variables
                        .retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
                    self.variables.push((name, value));
                    true
                }
                Local::Undefine(name) => {
                    let before = self.variables.len();
                    self.variables
                        .retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
                    if before == self.variables.len() {
                        self.out.line(&format!(
                            "Cannot undefine variable '{name}' which was never defined."
                        ));
                    }
                    true
                }
                Local::ListVariables => {
                    self.show_variables(&stmt);
                    true
                }
                Local::Server => unreachable!("batched above"),
            };
            if !ok {
                return false;
            }
        }
        self.flush_batch(&mut batch)
    }

    fn flush_batch(&mut self, batch: &mut Vec<String>) -> bool {
        if batch.is_empty() {
            return true;
        }
        let text = batch.join("\n");
        let ddl = batch.iter().any(|s| is_ddl(s));
        batch.clear();
        let ok = self.run_ksql(&text);
        if ddl {
            self.names_dirty = true;
        }
        ok
    }

    fn set_property(&mut self, name: String, value: String) {
        let prior = self
            .properties
            .iter()
            .position(|(k, _)| *k == name)
            .map(|i| self.properties.remove(i).1);
        let msg = match &prior {
            Some(p) => {
                format!("Successfully changed local property '{name}' from '{p}' to '{value}'.")
            }
            None => format!(
                "Successfully changed local property '{name}' to '{value}'. Use the UNSET \
                 command to revert your change."
            ),
        };
        self.properties.push((name, value));
        self.out.line(&msg);
    }

    fn unset_property(&mut self, name: &str) -> bool {
        match self.properties.iter().position(|(k, _)| k == name) {
            Some(i) => {
                let (_, old) = self.properties.remove(i);
                self.out.line(&format!(
                    "Successfully unset local property '{name}' (value was '{old}')."
                ));
                true
            }
            None => {
                self.out.error(&format!(
                    "Cannot unset local property '{name}' which was never set in the first place"
                ));
                false
            }
        }
    }

    fn show_variables(&mut self, statement: &str) {
        match self.output {
            OutputFormat::Json => {
                let vars: Vec<Value> = self
                    .variables
                    .iter()
                    .map(|(k, v)| json!({"name": k, "value": v}))
                    .collect();
                let entity = json!([{
                    "@type": "variables",
                    "statementText": statement,
                    "variables": vars,
                    "warnings": [],
                }]);
                self.print_json(&entity);
            }
            OutputFormat::Tabular => {
                let width = self.width();
                let table = variables_table(self.variables.clone()).render(width);
                self.out.write(&format!("\n{table}"));
            }
        }
    }

    fn print_json(&mut self, v: &Value) {
        let text = serde_json::to_string_pretty(v).unwrap_or_default();
        self.out.line(&text);
    }

    /// Sends statements to `/ksql` and prints the entities.
    fn run_ksql(&mut self, text: &str) -> bool {
        let body = self.request_body(text);
        let client = self.client.clone();
        let result = match self.wait(async move { client.ksql(&body).await }) {
            Waited::Done(r) => r,
            Waited::Interrupted => {
                self.out
                    .line("Request cancelled (the server may still run it)");
                return false;
            }
        };
        match result {
            Ok(Value::Array(entities)) => {
                let seq = entities
                    .iter()
                    .filter(|e| e.get("@type").and_then(Value::as_str) == Some("currentStatus"))
                    .filter_map(|e| e.get("commandSequenceNumber").and_then(Value::as_i64))
                    .max();
                if let Some(seq) = seq {
                    self.last_sequence = Some(seq);
                }
                let mut ok = true;
                for e in &entities {
                    let status = e.get("commandStatus");
                    if status.and_then(|s| s.get("status")).and_then(Value::as_str) == Some("ERROR")
                    {
                        let msg = status
                            .and_then(|s| s.get("message"))
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        self.out.error(msg.split('\n').next().unwrap_or(""));
                        ok = false;
                    }
                }
                if ok {
                    self.print_entities(&entities);
                }
                ok
            }
            Ok(other) => {
                self.print_json(&other);
                true
            }
            Err(e) => {
                self.report(e, text);
                false
            }
        }
    }

    fn print_entities(&mut self, entities: &[Value]) {
        match self.output {
            OutputFormat::Json => self.print_json(&Value::Array(entities.to_vec())),
            OutputFormat::Tabular => {
                let width = self.width();
                let text = render_entities(entities, width);
                self.out.write(&text);
            }
        }
    }

    /// Prints a failed request: the server's message (with a caret under the position it names
    /// in `sent`), or why the server could not be reached.
    fn report(&mut self, e: RequestError, sent: &str) {
        match e {
            RequestError::Unreachable(reason) => {
                let msg = self.unreachable_message(&reason);
                self.out.error(&msg);
            }
            RequestError::Other(msg) => self.out.error(&msg),
            RequestError::Status {
                status,
                request,
                body,
            } => {
                let parsed: Option<Value> = serde_json::from_str(&body).ok();
                let Some(err) = parsed.filter(|v| v.get("message").is_some()) else {
                    let mut msg = format!(
                        "The server at {} answered {request} with HTTP {status}",
                        self.client.base()
                    );
                    if status == 404 {
                        msg.push_str(&format!(" (it has no {request} endpoint)"));
                    } else if !body.trim().is_empty() {
                        msg.push_str(&format!(": {}", body.trim()));
                    }
                    self.out.error(&msg);
                    return;
                };
                if let Some(entities) = err.get("entities").and_then(Value::as_array) {
                    if !entities.is_empty() {
                        self.print_entities(entities);
                    }
                }
                let message = err.get("message").and_then(Value::as_str).unwrap_or("");
                self.out.error(message);
                let statement = err.get("statementText").and_then(Value::as_str);
                if let Some(caret) = caret(message, sent, statement) {
                    self.out.write(&caret);
                }
            }
        }
    }

    /// Runs a query (or PRINT) on `/query`, printing rows as they arrive, until the server ends
    /// it, the row limit or timeout is reached, or Ctrl-C.
    fn run_query(&mut self, text: &str, print: bool) -> bool {
        let body = self.request_body(text);
        let client = self.client.clone();
        let response = match self.wait(async move { client.query(&body).await }) {
            Waited::Done(Ok(r)) => r,
            Waited::Done(Err(e)) => {
                self.report(e, text);
                return false;
            }
            Waited::Interrupted => {
                self.out.line("Query terminated");
                return true;
            }
        };
        let width = self.width().unwrap_or(80);
        let mut view = QueryView {
            json: self.output == OutputFormat::Json,
            width,
            configured_width: self.column_width,
            wrap: self.wrap,
            limit: self.row_limit,
            ..QueryView::default()
        };
        let timeout = self.query_timeout;
        let rt = self.rt.clone();
        let out = &mut self.out;
        let mut by_ctrl_c = false;
        let (ok, rest) = rt.block_on(async {
            let mut body = response.bytes_stream();
            let mut sniffed = print;
            let mut as_text = print;
            let mut elements = ArrayStream::new();
            let mut lines = LineStream::new();
            let deadline = async {
                match timeout {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(deadline);
            let ctrl_c = interrupted();
            tokio::pin!(ctrl_c);
            let ok = loop {
                let chunk = tokio::select! {
                    biased;
                    _ = &mut ctrl_c => {
                        by_ctrl_c = true;
                        break true;
                    }
                    _ = &mut deadline => break true,
                    c = body.next() => c,
                };
                let chunk = match chunk {
                    None => break true,
                    Some(Ok(c)) => c,
                    Some(Err(e)) => {
                        view.close_table(out);
                        out.error(&format!("The query's stream broke: {e}"));
                        break false;
                    }
                };
                if !sniffed {
                    // Rows come as JSON; anything else is shown as text.
                    if let Some(b) = chunk.iter().find(|b| !b.is_ascii_whitespace()) {
                        sniffed = true;
                        as_text = *b != b'[' && *b != b'{';
                    }
                }
                if as_text {
                    for line in lines.push(&chunk) {
                        if !line.is_empty() {
                            out.line(&line);
                        }
                    }
                    continue;
                }
                let mut done = false;
                for element in elements.push(&chunk) {
                    match element {
                        Ok(v) => {
                            if view.element(&v, out) {
                                done = true;
                                break;
                            }
                        }
                        Err(e) => out.error(&format!("Unreadable row from the server: {e}")),
                    }
                }
                if done {
                    break true;
                }
            };
            // Dropping `body` here closes the connection: the server ends the query.
            drop(body);
            (ok, lines.finish())
        });
        if let Some(rest) = rest.filter(|r| !r.is_empty()) {
            self.out.line(&rest);
        }
        if by_ctrl_c && self.out.is_terminal() {
            // After the terminal's `^C`.
            self.out.write("\n");
        }
        view.close_table(&mut self.out);
        if print {
            self.out.line("Topic printing ceased");
        } else {
            self.out.line("Query terminated");
        }
        ok && !view.failed
    }

    /// Runs a shell command; false if it failed.
    pub fn run_command(&mut self, cmd: CliCommand) -> bool {
        match cmd {
            CliCommand::Invalid(msg) => {
                self.out.error(&msg);
                false
            }
            CliCommand::Help => {
                self.out.write(&help_text());
                true
            }
            CliCommand::Clear => {
                if let Some(e) = self.editor.as_mut() {
                    let _ = e.clear_screen();
                }
                true
            }
            CliCommand::Exit => {
                self.exit_requested = true;
                true
            }
            CliCommand::History => {
                let entries: Vec<String> = self
                    .editor
                    .as_ref()
                    .map(|e| e.history().iter().cloned().collect())
                    .unwrap_or_default();
                for (i, line) in entries.iter().enumerate() {
                    self.out.line(&format!("{:4}: {line}", i + 1));
                }
                true
            }
            CliCommand::Output(None) => {
                let msg = format!("Current output format: {}", self.output.name());
                self.out.line(&msg);
                true
            }
            CliCommand::Output(Some(f)) => match OutputFormat::parse(&f) {
                Some(format) => {
                    self.output = format;
                    self.out
                        .line(&format!("Output format set to {}", format.name()));
                    true
                }
                None => {
                    self.out.error(&format!(
                        "Invalid output format: '{}' (valid formats: 'JSON', 'TABULAR')",
                        f.to_uppercase()
                    ));
                    false
                }
            },
            CliCommand::Server(None) => {
                let url = self.client.base().to_string();
                self.out.line(&url);
                true
            }
            CliCommand::Server(Some(url)) => {
                match Client::new(&url, self.auth.clone()) {
                    Ok(c) => self.client = c,
                    Err(e) => {
                        self.out.error(&format!("Invalid server URL {url}: {e}"));
                        return false;
                    }
                }
                self.out
                    .line(&format!("Server now: {}", self.client.base()));
                self.last_sequence = None;
                self.pipelining = false;
                self.server_version = None;
                self.names_dirty = true;
                self.check_server()
            }
            CliCommand::RequestPipelining(None) => {
                let setting = if self.pipelining { "ON" } else { "OFF" };
                self.out.line(&format!(
                    "Current request-pipelining configuration: {setting}"
                ));
                true
            }
            CliCommand::RequestPipelining(Some(v)) => match v.to_uppercase().as_str() {
                "ON" | "OFF" => {
                    self.pipelining = v.eq_ignore_ascii_case("ON");
                    self.out.line(&format!(
                        "request-pipelining configuration is now {}",
                        v.to_uppercase()
                    ));
                    true
                }
                _ => {
                    self.out.error(&format!(
                        "Invalid request-pipelining setting: {v}. Valid options are 'ON' and 'OFF'."
                    ));
                    false
                }
            },
            CliCommand::RunScript(path) => self.run_script(&path),
            CliCommand::Spool(target) => self.spool(&target),
            CliCommand::SetCli(name, value) => self.set_cli(&name, &value),
            CliCommand::Version => {
                self.out.line(&format!("Version: {VERSION}"));
                if let Some(v) = self.server_version.clone() {
                    self.out.line(&format!("Server version: {v}"));
                }
                true
            }
        }
    }

    /// Runs a file of statements (`run script`, `-f`).
    pub fn run_script(&mut self, path: &str) -> bool {
        let content = match std::fs::read_to_string(path) {
            Ok(c) => c,
            Err(e) => {
                self.out
                    .error(&format!("Failed to read file: {path} ({e})"));
                return false;
            }
        };
        if self.script_depth >= 16 {
            self.out
                .error("Scripts nested too deeply (a script runs itself?)");
            return false;
        }
        self.script_depth += 1;
        let ok = self.run_text(&content);
        self.script_depth -= 1;
        ok
    }

    fn spool(&mut self, target: &str) -> bool {
        if target.eq_ignore_ascii_case("OFF") {
            if let Some((path, _)) = self.out.spool.take() {
                self.out
                    .line(&format!("Spool written to {}", path.display()));
            }
            return true;
        }
        if self.out.spool.is_some() {
            self.out
                .error("Cannot set two spools! Please issue SPOOL OFF.");
            return false;
        }
        let path = PathBuf::from(target);
        let path = std::path::absolute(&path).unwrap_or(path);
        match std::fs::File::create(&path) {
            Ok(f) => {
                self.out.spool = Some((path.clone(), f));
                self.out
                    .line(&format!("Session will be spooled to {}", path.display()));
                self.out.line("Enter SPOOL OFF to disable");
                true
            }
            Err(e) => {
                self.out
                    .error(&format!("Cannot SPOOL to file: {} ({e})", path.display()));
                false
            }
        }
    }

    fn set_cli(&mut self, name: &str, value: &str) -> bool {
        match name.to_uppercase().as_str() {
            "WRAP" => match value.to_uppercase().as_str() {
                "ON" | "OFF" => {
                    self.wrap = value.eq_ignore_ascii_case("ON");
                    true
                }
                _ => {
                    self.out.error(&format!(
                        "Invalid value {value} for configuration WRAP: String must be one of: ON, OFF"
                    ));
                    false
                }
            },
            "COLUMN-WIDTH" => match value.parse::<usize>() {
                Ok(w) => {
                    self.column_width = w;
                    true
                }
                Err(_) => {
                    self.out.error(&format!(
                        "Invalid value {value} for configuration COLUMN-WIDTH: Value must be a \
                         non-negative integer"
                    ));
                    false
                }
            },
            _ => {
                self.out.error(&format!(
                    "Undefined property: {name}. Valid properties are: [COLUMN-WIDTH, WRAP]"
                ));
                false
            }
        }
    }

    /// Fetches the server's names for completion (quietly; a failure leaves the old ones).
    pub fn refresh_names(&mut self) {
        self.names_dirty = false;
        let client = self.client.clone();
        let props = self.request_body("")["streamsProperties"].clone();
        let fetch = async move {
            let ask = |sql: String| {
                let client = client.clone();
                let body = json!({"ksql": sql, "streamsProperties": props.clone()});
                async move { client.ksql(&body).await.ok() }
            };
            let mut names = Names::default();
            for (sql, key) in [("SHOW STREAMS;", "streams"), ("SHOW TABLES;", "tables")] {
                if let Some(v) = ask(sql.to_string()).await {
                    names.sources.extend(names_in(&v, key));
                }
            }
            if let Some(v) = ask("SHOW FUNCTIONS;".to_string()).await {
                names.functions.extend(names_in(&v, "functions"));
            }
            if !names.sources.is_empty() {
                let describe: Vec<String> = names
                    .sources
                    .iter()
                    .take(200)
                    .map(|n| format!("DESCRIBE {};", quote_identifier(n)))
                    .collect();
                if let Some(v) = ask(describe.join("\n")).await {
                    for e in v.as_array().map(Vec::as_slice).unwrap_or(&[]) {
                        let fields = e
                            .get("sourceDescription")
                            .and_then(|d| d.get("fields"))
                            .or_else(|| e.get("rows"));
                        for f in fields
                            .and_then(Value::as_array)
                            .map(Vec::as_slice)
                            .unwrap_or(&[])
                        {
                            if let Some(n) = f.get("name").and_then(Value::as_str) {
                                if !names.columns.iter().any(|c| c == n) {
                                    names.columns.push(n.to_string());
                                }
                            }
                        }
                    }
                }
            }
            names
        };
        let result = self
            .rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), fetch).await });
        if let Ok(names) = result {
            if let Ok(mut n) = self.names.lock() {
                *n = names;
            }
        }
    }
}

/// Resolves when Ctrl-C is pressed (never, if the signal cannot be watched).
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The names listed in a SHOW answer: `entities[0][key][*].name` (or `rows[*].name`).
fn names_in(v: &Value, key: &str) -> Vec<String> {
    let Some(entity) = v.as_array().and_then(|a| a.first()) else {
        return Vec::new();
    };
    entity
        .get(key)
        .or_else(|| entity.get("rows"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|x| x.get("name").and_then(Value::as_str).map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn quote_identifier(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

/// The message of an error body, or the body.
fn error_text(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(String::from))
        .unwrap_or_else(|| body.trim().to_string())
}

/// For a message starting `line L:C:`, the line `L` of the statement text and a caret under
/// column `C` (1-based). Looked up in the text sent, else in the server's `statementText`.
pub fn caret(message: &str, sent: &str, statement: Option<&str>) -> Option<String> {
    let rest = message.strip_prefix("line ")?;
    let (pos, after) = rest.split_once(':')?;
    let line_no: usize = pos.parse().ok()?;
    let col_text: String = after.chars().take_while(char::is_ascii_digit).collect();
    let column: usize = col_text.parse().ok()?;
    if line_no == 0 || column == 0 {
        return None;
    }
    let find = |text: &str| -> Option<String> {
        let line = text.lines().nth(line_no - 1)?;
        if line.chars().count() + 1 < column {
            return None;
        }
        let pad: String = line
            .chars()
            .take(column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        Some(format!("{line}\n{pad}^\n"))
    };
    find(sent).or_else(|| statement.and_then(find))
}

/// The state of a query's output as elements arrive.
#[derive(Default)]
struct QueryView {
    json: bool,
    width: usize,
    configured_width: usize,
    wrap: bool,
    limit: Option<u64>,
    cell_width: usize,
    columns: usize,
    table_open: bool,
    rows: u64,
    failed: bool,
}

impl QueryView {
    /// Handles one `StreamedRow`; true when the query is over.
    fn element(&mut self, v: &Value, out: &mut Out) -> bool {
        if let Some(err) = v.get("errorMessage") {
            self.close_table(out);
            let msg = err
                .get("message")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| value_string(err));
            out.error(&msg);
            self.failed = true;
            return false;
        }
        if let Some(header) = v.get("header") {
            if self.json {
                out.line(&serde_json::to_string_pretty(header).unwrap_or_default());
                return false;
            }
            let schema = header.get("schema").and_then(Value::as_str).unwrap_or("");
            let names = schema_column_names(schema);
            self.columns = names.len();
            self.cell_width = cell_width(self.width, names.len(), self.configured_width);
            if !names.is_empty() {
                out.line(&tabular_header(&names, self.cell_width));
                self.table_open = true;
            }
            return false;
        }
        if let Some(row) = v.get("row") {
            if self.json {
                out.line(&serde_json::to_string_pretty(row).unwrap_or_default());
            } else {
                let tombstone = row.get("tombstone").and_then(Value::as_bool) == Some(true);
                let cells: Vec<String> = row
                    .get("columns")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                    .iter()
                    .map(|c| {
                        if tombstone && c.is_null() {
                            "<TOMBSTONE>".to_string()
                        } else {
                            value_string(c)
                        }
                    })
                    .collect();
                if self.cell_width == 0 {
                    self.cell_width = cell_width(self.width, cells.len(), self.configured_width);
                }
                out.line(&tabular_row(&cells, self.cell_width, self.wrap));
            }
            self.rows += 1;
            return self.limit.is_some_and(|l| self.rows >= l);
        }
        if let Some(msg) = v.get("finalMessage") {
            self.close_table(out);
            out.line(msg.as_str().unwrap_or(""));
            return true;
        }
        false
    }

    fn close_table(&mut self, out: &mut Out) {
        if self.table_open {
            out.line(&separator(self.cell_width, self.columns));
            self.table_open = false;
        }
    }
}

/// Reads the shell's history file path: `$FLUSSO_HISTORY`, else `~/.flusso_history`.
pub fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FLUSSO_HISTORY") {
        if !p.is_empty() {
            return Some(PathBuf::from(p));
        }
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".flusso_history"))
}
