//! `flusso qtt DIR`: runs ksqlDB's query-validation test files against Flusso. Every variant
//! (case × format × config) runs in its own engine over its own embedded log, several at once;
//! the summary line is `N passed, M failed, K skipped` (skipped: needs a schema registry).
//! Files under a `rest-query-validation-tests` directory are ksqlDB's REST tests (RQTT), run
//! against the HTTP API (`rqtt.rs`).

mod compare;
mod load;
mod rqtt;
mod rqtt_match;
mod run;
mod udfs;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

/// Arguments of `flusso qtt`.
#[derive(Debug, clap::Args)]
pub struct QttArgs {
    /// Directories of QTT JSON files, or single files.
    #[arg(required = true)]
    pub dir: Vec<PathBuf>,
    /// Only variants whose name contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Where topics live: `embedded` (a fresh embedded log per variant, in-process) or `kafka`
    /// (rdkafka over TCP to one embedded log started for the run, or to `--bootstrap`).
    #[arg(long, default_value = "embedded")]
    pub backend: String,
    /// The broker for `--backend kafka`; by default an embedded log is started on a free port.
    #[arg(long)]
    pub bootstrap: Option<String>,
    /// Print why each failing variant failed.
    #[arg(long, short)]
    pub verbose: bool,
    /// Variants run at once.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Fail unless at least as many variants pass as the number in this file.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Write the names of passing variants here, one per line.
    #[arg(long)]
    pub write_passing: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// Runs the suite; returns an error when the baseline is not met.
pub fn run(args: QttArgs) -> anyhow::Result<()> {
    if args.backend != "embedded" && args.backend != "kafka" {
        anyhow::bail!("unknown backend '{}': use embedded or kafka", args.backend);
    }
    udfs::register();
    let mut files: Vec<PathBuf> = Vec::new();
    for d in &args.dir {
        if d.is_file() {
            files.push(d.clone());
        } else {
            files.extend(
                std::fs::read_dir(d)
                    .with_context(|| format!("cannot read {}", d.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json")),
            );
        }
    }
    files.sort();
    let mut variants = Vec::new();
    for f in &files {
        let rest = rqtt::is_rqtt_path(f);
        match load::load_file(f) {
            Ok(v) => variants.extend(v.into_iter().map(|v| (v, rest))),
            Err(e) => eprintln!("skipping file: {e}"),
        }
    }
    if let Some(filter) = &args.filter {
        variants.retain(|(v, _)| v.name.contains(filter.as_str()));
    }
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let log_dir = tempfile::tempdir()?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let backend = match (args.backend.as_str(), &args.bootstrap) {
        ("kafka", Some(b)) => run::Backend::Kafka(b.clone()),
        ("kafka", None) => runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let log = flusso_log::Log::open(flusso_log::LogConfig::new(log_dir.path()))?;
            tokio::spawn(flusso_log::serve(
                listener,
                log,
                flusso_log::KafkaServerConfig {
                    advertised_host: "127.0.0.1".into(),
                    advertised_port: addr.port(),
                },
                shutdown.clone(),
            ));
            anyhow::Ok(run::Backend::Kafka(addr.to_string()))
        })?,
        _ => run::Backend::Embedded,
    };
    let results: Vec<(String, String, Outcome, String)> = runtime.block_on(async {
        let semaphore = Arc::new(tokio::sync::Semaphore::new(args.jobs.max(1)));
        let mut handles = Vec::new();
        for (v, rest) in variants {
            let permit = Arc::clone(&semaphore);
            let backend = backend.clone();
            handles.push(tokio::spawn(async move {
                let _permit = permit.acquire_owned().await;
                if let Some(reason) = &v.skip {
                    return (
                        v.file.clone(),
                        v.name.clone(),
                        Outcome::Skipped,
                        reason.clone(),
                    );
                }
                let inner = tokio::spawn({
                    let v = v.clone();
                    async move {
                        if rest {
                            rqtt::run_variant(&v).await
                        } else {
                            run::run_variant(&v, &backend)
                                .await
                                .map(|()| rqtt::Pass::Checked)
                        }
                    }
                });
                let (outcome, reason) =
                    match tokio::time::timeout(Duration::from_secs(30), inner).await {
                        Ok(Ok(Ok(rqtt::Pass::Checked))) => (Outcome::Passed, String::new()),
                        Ok(Ok(Ok(rqtt::Pass::ErrorNotRaised))) => {
                            (Outcome::Passed, "expected error not raised".into())
                        }
                        Ok(Ok(Err(e))) => (Outcome::Failed, e),
                        Ok(Err(join)) => (Outcome::Failed, format!("panicked: {join}")),
                        Err(_) => (Outcome::Failed, "timed out".into()),
                    };
                (v.file.clone(), v.name.clone(), outcome, reason)
            }));
        }
        let mut out = Vec::new();
        for h in handles {
            if let Ok(r) = h.await {
                out.push(r);
            }
        }
        out
    });
    shutdown.cancel();
    let mut per_file: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut passing = Vec::new();
    let mut unraised = Vec::new();
    for (file, name, outcome, reason) in &results {
        let e = per_file.entry(file.clone()).or_default();
        match outcome {
            Outcome::Passed => {
                e.0 += 1;
                passed += 1;
                passing.push(name.clone());
                if !reason.is_empty() {
                    unraised.push(name.clone());
                }
            }
            Outcome::Failed => {
                e.1 += 1;
                failed += 1;
                if args.verbose {
                    println!("FAIL {name}\n  {reason}");
                }
            }
            Outcome::Skipped => {
                e.2 += 1;
                skipped += 1;
            }
        }
    }
    for (file, (p, f, s)) in &per_file {
        println!("{file}: {p} passed, {f} failed, {s} skipped");
    }
    if !unraised.is_empty() {
        unraised.sort();
        println!(
            "{} passed variant(s) expect an error that Flusso does not raise; ksqlDB's \
             RestTestExecutor passes them too, as their statements all succeed and they run no \
             query:",
            unraised.len()
        );
        for name in &unraised {
            println!("  {name}");
        }
    }
    if let Some(path) = &args.write_passing {
        passing.sort();
        std::fs::write(path, passing.join("\n") + "\n")?;
    }
    println!(
        "qtt: {} variants in {:.1} s",
        passed + failed + skipped,
        started.elapsed().as_secs_f64()
    );
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if let Some(path) = &args.baseline {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let floor: usize = text
            .lines()
            .find_map(|l| l.trim().parse().ok())
            .context("the baseline file holds no number")?;
        if passed < floor {
            anyhow::bail!("only {passed} variants passed; the baseline is {floor}");
        }
        println!("baseline {floor} met");
    }
    Ok(())
}
