//! Nexmark for Flusso: Nexmark's event generator ([`generator`]), the queries written in
//! Flusso's SQL ([`queries`], the files of `sql-examples/nexmark/`) and a runner that feeds
//! generated events to a query — as Arrow batches straight into its plan ([`columns`]), or as
//! JSON records through the embedded log or over rdkafka — and measures it ([`runner`]).
//!
//! ```
//! use flusso_nexmark::generator::{Event, Generator, GeneratorConfig};
//! let g = Generator::new(GeneratorConfig::default());
//! assert!(matches!(g.event(0), Event::Person(_)));
//! assert!(g.event(4).to_json().starts_with("{\"auction\":"));
//! ```

pub mod columns;
pub mod generator;
pub mod queries;
pub mod runner;

pub use generator::{Event, Generator, GeneratorConfig, Kind};
pub use queries::{Query, QUERIES, SOURCES};
pub use runner::{run, Path, RunOptions, RunOutcome, RunReport};

/// CPU seconds (user + system) this process has used, from /proc/self/stat (10 ms ticks).
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the command.
    (ticks(11) + ticks(12)) / 100.0
}

/// The process's peak resident memory (VmHWM of /proc/self/status), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}
