//! Shared helpers of the integration tests: [`TestServer`] runs the real `flusso` binary on free
//! ports with its own data directory, plus small rdkafka conveniences. Every test file includes
//! this module, and not every file uses every helper.
#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use tempfile::TempDir;

/// How long the server may take to become healthy.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a SIGTERM'd server may take to exit.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `flusso server` process with its own data directory and ports.
pub struct TestServer {
    /// The data directory (`--data-dir`).
    pub data_dir: PathBuf,
    /// Port of the Kafka listener.
    pub kafka_port: u16,
    /// Port of the HTTP API.
    pub http_port: u16,
    /// File collecting the server's stderr, across restarts.
    pub stderr_path: PathBuf,
    extra_args: Vec<String>,
    child: Option<Child>,
    /// Holds the temporary directory (data and stderr) alive.
    _tmp: TempDir,
}

/// Returns a port that was free a moment ago (bind to :0, read it, release it).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

impl TestServer {
    /// Starts a server on a fresh temporary data directory.
    pub fn start() -> TestServer {
        Self::start_with_args(&[])
    }

    /// Starts a server on a fresh temporary data directory with extra flags (e.g.
    /// `["--num-partitions", "3"]`).
    pub fn start_with_args(extra: &[&str]) -> TestServer {
        let tmp = tempfile::Builder::new()
            .prefix("flusso-it-")
            .tempdir()
            .expect("tempdir");
        let data_dir = tmp.path().join("data");
        Self::start_inner(tmp, data_dir, extra)
    }

    /// Starts a server on an existing (or new) data directory `dir`; its stderr goes to a
    /// temporary directory.
    pub fn start_in(dir: &Path, extra: &[&str]) -> TestServer {
        let tmp = tempfile::Builder::new()
            .prefix("flusso-it-")
            .tempdir()
            .expect("tempdir");
        Self::start_inner(tmp, dir.to_path_buf(), extra)
    }

    fn start_inner(tmp: TempDir, data_dir: PathBuf, extra: &[&str]) -> TestServer {
        let stderr_path = tmp.path().join("server.stderr");
        let mut server = TestServer {
            data_dir,
            kafka_port: 0,
            http_port: 0,
            stderr_path,
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
            _tmp: tmp,
        };
        // Freshly picked ports can be taken by someone else before the server binds them: retry
        // with new ports when the process exits before becoming healthy.
        let mut last_err = String::new();
        for _ in 0..5 {
            server.kafka_port = free_port();
            server.http_port = free_port();
            while server.http_port == server.kafka_port {
                server.http_port = free_port();
            }
            match server.spawn_and_wait() {
                Ok(()) => return server,
                Err(e) => last_err = e,
            }
        }
        panic!(
            "flusso did not start: {last_err}\n--- server stderr ---\n{}",
            server.stderr_tail(60)
        );
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "server already running");
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr_path)
            .map_err(|e| format!("cannot open stderr file: {e}"))?;
        let _ = writeln!(
            &stderr,
            "===== test harness: starting flusso (kafka {}) =====",
            self.kafka_port
        );
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flusso"));
        cmd.arg("server")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--kafka-listen")
            .arg(format!("127.0.0.1:{}", self.kafka_port))
            .arg("--http-listen")
            .arg(format!("127.0.0.1:{}", self.http_port))
            .arg("--log-level")
            .arg("info")
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr));
        // Keep the environment from changing the server's settings.
        for var in [
            "FLUSSO_CONFIG",
            "FLUSSO_ADVERTISED_KAFKA",
            "FLUSSO_NUM_PARTITIONS",
            "FLUSSO_AUTO_CREATE_TOPICS",
        ] {
            cmd.env_remove(var);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot spawn flusso: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!("flusso exited before becoming healthy: {status}"));
            }
            if healthcheck(self.http_port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = self.child.as_mut().map(|c| c.kill());
                let _ = self.child.take().map(|mut c| c.wait());
                return Err(format!("not healthy within {START_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `host:port` of the Kafka listener, for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.kafka_port)
    }

    /// Address of the Kafka listener, for raw TCP.
    pub fn kafka_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.kafka_port))
    }

    /// Process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server not running").id()
    }

    /// Whether the process is still running (and has not exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            None => false,
            Some(c) => matches!(c.try_wait(), Ok(None)),
        }
    }

    /// Asserts that the server process is alive and answers its healthcheck.
    pub fn assert_healthy(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                panic!(
                    "flusso died: {status}\n--- server stderr ---\n{}",
                    self.stderr_tail(60)
                );
            }
        } else {
            panic!("flusso is not running");
        }
        assert!(
            healthcheck(self.http_port),
            "healthcheck failed\n{}",
            self.stderr_tail(60)
        );
    }

    /// Sends SIGTERM, waits for the exit, and asserts a clean shutdown (exit 0 and the
    /// `clean-shutdown` marker).
    pub fn sigterm(&mut self) {
        let pid = self.pid().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -TERM {pid} failed");
        let status = self.wait_exit(STOP_TIMEOUT);
        assert!(
            status.success(),
            "flusso did not exit cleanly after SIGTERM: {status}\n--- server stderr ---\n{}",
            self.stderr_tail(60)
        );
        assert!(
            self.data_dir.join("clean-shutdown").exists(),
            "no clean-shutdown marker after SIGTERM\n{}",
            self.stderr_tail(60)
        );
    }

    /// Sends SIGKILL (a crash) and reaps the process.
    pub fn sigkill(&mut self) {
        let mut child = self.child.take().expect("server not running");
        let _ = child.kill();
        let _ = child.wait();
        let stderr = OpenOptions::new().append(true).open(&self.stderr_path);
        if let Ok(f) = stderr {
            let _ = writeln!(&f, "===== test harness: SIGKILL sent =====");
        }
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child.as_mut().expect("server not running");
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.child = None;
                panic!(
                    "flusso did not exit within {timeout:?}\n{}",
                    self.stderr_tail(60)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same data directory and ports (after `sigterm` or
    /// `sigkill`).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart of a running server");
        // The old listening sockets are gone with the process; allow a few attempts in case the
        // ports are briefly unavailable.
        let mut last_err = String::new();
        for attempt in 0..10 {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(e) => last_err = e,
            }
            std::thread::sleep(Duration::from_millis(200 * (attempt + 1)));
        }
        panic!(
            "flusso did not restart: {last_err}\n--- server stderr ---\n{}",
            self.stderr_tail(80)
        );
    }

    /// Everything the server wrote to stderr so far (all runs).
    pub fn stderr(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(&self.stderr_path) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// The last `n` lines of the server's stderr.
    pub fn stderr_tail(&self, n: usize) -> String {
        let all = self.stderr();
        let lines: Vec<&str> = all.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Directory of one partition.
    pub fn partition_dir(&self, topic: &str, partition: i32) -> PathBuf {
        self.data_dir.join(format!("{topic}-{partition}"))
    }

    /// The `.log` segment files of a partition, by base offset.
    pub fn segments(&self, topic: &str, partition: i32) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = match std::fs::read_dir(self.partition_dir(topic, partition)) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "log"))
                .collect(),
            Err(_) => Vec::new(),
        };
        v.sort();
        v
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- flusso stderr ({}), last lines ---\n{}",
                self.stderr_path.display(),
                self.stderr_tail(80)
            );
            return;
        }
        // Whatever a test did, the server must never panic (a panicking task does not stop the
        // process, so look at what it printed).
        let stderr = self.stderr();
        let panics: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("panicked at"))
            .collect();
        assert!(
            panics.is_empty(),
            "the server panicked:\n{}\n--- stderr ---\n{}",
            panics.join("\n"),
            self.stderr_tail(80)
        );
    }
}

/// `GET /healthcheck` over a raw socket: true on a 200 answer with `isHealthy: true`.
pub fn healthcheck(http_port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], http_port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    let req = format!(
        "GET /healthcheck HTTP/1.1\r\nHost: 127.0.0.1:{http_port}\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    // No half-close: hyper drops a connection whose client shut its write side down, sometimes
    // before answering. `Connection: close` ends the response instead.
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp);
    let ok_status = text
        .lines()
        .next()
        .is_some_and(|l| l.starts_with("HTTP/1.1 200") || l.starts_with("HTTP/1.0 200"));
    ok_status && text.contains("\"isHealthy\":true")
}

// ---------------------------------------------------------------------------------------------
// rdkafka conveniences
// ---------------------------------------------------------------------------------------------

/// Client settings every test client shares.
pub fn base_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("socket.timeout.ms", "10000")
        .set("reconnect.backoff.ms", "20")
        .set("reconnect.backoff.max.ms", "500");
    c
}

/// A producer without idempotence (not supported yet), with `extra` settings on top.
pub fn producer(bootstrap: &str, extra: &[(&str, &str)]) -> FutureProducer {
    let mut c = base_config(bootstrap);
    c.set("enable.idempotence", "false")
        .set("linger.ms", "1")
        .set("message.timeout.ms", "30000");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c.create().expect("create producer")
}

/// Consumer settings: manual assignment only (no consumer groups yet), no commits.
pub fn consumer_config(bootstrap: &str, extra: &[(&str, &str)]) -> ClientConfig {
    let mut c = base_config(bootstrap);
    c.set("group.id", "flusso-it")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // Verify the CRC of every batch: the broker rewrites offsets and append times in place.
        .set("check.crcs", "true")
        .set("fetch.wait.max.ms", "100");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c
}

/// A `BaseConsumer` with `extra` settings.
pub fn base_consumer(bootstrap: &str, extra: &[(&str, &str)]) -> BaseConsumer {
    consumer_config(bootstrap, extra)
        .create()
        .expect("create consumer")
}

/// An admin client.
pub fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    base_config(bootstrap)
        .create()
        .expect("create admin client")
}

/// Admin options with a bounded operation timeout.
pub fn admin_opts() -> AdminOptions {
    AdminOptions::new().request_timeout(Some(Duration::from_secs(20)))
}

/// Creates a topic and asserts success.
pub async fn create_topic(bootstrap: &str, name: &str, partitions: i32, config: &[(&str, &str)]) {
    let admin = admin(bootstrap);
    let mut t = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in config {
        t = t.set(k, v);
    }
    let res = admin
        .create_topics([&t], &admin_opts())
        .await
        .expect("create_topics request");
    assert_eq!(res.len(), 1);
    assert_eq!(res[0], Ok(name.to_string()), "create topic {name}");
}

/// Assigns `partitions` of `topic` from the beginning.
pub fn assign_from_beginning<C: Consumer>(consumer: &C, topic: &str, partitions: &[i32]) {
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(topic, *p, Offset::Beginning)
            .expect("add partition");
    }
    consumer.assign(&tpl).expect("assign");
}

/// Polls until `n` messages have arrived or `timeout` passes; panics on a consumer error.
pub fn consume_n(consumer: &BaseConsumer, n: usize, timeout: Duration) -> Vec<OwnedMessage> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::with_capacity(n);
    while out.len() < n && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Ok(m)) => out.push(m.detach()),
            Some(Err(e)) => panic!("consumer error after {} messages: {e}", out.len()),
        }
    }
    out
}

/// Like [`consume_n`], then keeps polling for `quiet` to make sure nothing more arrives.
pub fn consume_exactly(consumer: &BaseConsumer, n: usize, timeout: Duration) -> Vec<OwnedMessage> {
    let mut out = consume_n(consumer, n, timeout);
    assert_eq!(
        out.len(),
        n,
        "expected {n} messages within {timeout:?}, got {}",
        out.len()
    );
    let extra = consume_n(consumer, 1, Duration::from_millis(500));
    out.extend(extra);
    assert_eq!(
        out.len(),
        n,
        "more messages than expected: {:?}",
        out.last().map(|m| m.offset())
    );
    out
}

/// Payload of a message as UTF-8 (panics otherwise).
pub fn payload_str(m: &OwnedMessage) -> &str {
    std::str::from_utf8(m.payload().expect("payload")).expect("utf-8 payload")
}

/// Reads all Kafka v2 batch headers of a segment file: (base offset, attributes, record count).
pub fn batch_headers(path: &Path) -> Vec<(i64, i16, i32, usize)> {
    let data = std::fs::read(path).expect("read segment");
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 61 <= data.len() {
        let base = i64::from_be_bytes(data[pos..pos + 8].try_into().unwrap());
        let len = i32::from_be_bytes(data[pos + 8..pos + 12].try_into().unwrap());
        let attrs = i16::from_be_bytes(data[pos + 21..pos + 23].try_into().unwrap());
        let count = i32::from_be_bytes(data[pos + 57..pos + 61].try_into().unwrap());
        let total = 12 + len.max(0) as usize;
        if pos + total > data.len() {
            break;
        }
        out.push((base, attrs, count, total));
        pos += total;
    }
    out
}
