//! Every Nexmark query of `sql-examples/nexmark/` checked on generated events against the same
//! query computed independently: by DataFusion as a batch query over the same events (in
//! memory, as Arrow tables), or by plain Rust where the streaming semantics are not a batch
//! query's (windows closed by stream time, sessions, top-K).
//!
//! Each query runs in-process through the runner (`flusso nexmark run --path in-process` does
//! the same), then its result is read with a pull query (`SELECT * FROM <sink>;`): a stream's
//! rows compared as a multiset, a table's current rows as a set. 40,000 events at 1,000 events
//! per second of event time: 40 s, so that 10-second windows close several times, and every
//! event has its own millisecond (no ties between a table row and the stream row that looks it
//! up).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use flusso_nexmark::generator::{Auction, Bid, Event, Generator, GeneratorConfig, Person};
use flusso_nexmark::{queries, run, Path, RunOptions};

const EVENTS: u64 = 40_000;
const RATE: u64 = 1_000;

fn config() -> GeneratorConfig {
    GeneratorConfig {
        rate: RATE,
        seed: 42,
        ..GeneratorConfig::default()
    }
}

/// A value as compared: integers of any width as one, decimals as floats.
#[derive(Debug, Clone, PartialEq)]
enum V {
    I(i64),
    F(f64),
    S(String),
    L(Vec<V>),
    N,
}

impl V {
    fn key(&self) -> String {
        match self {
            V::I(i) => format!("{i}"),
            V::F(f) => format!("{f:.3}"),
            V::S(s) => format!("{s:?}"),
            V::L(l) => format!("[{}]", l.iter().map(V::key).collect::<Vec<_>>().join(",")),
            V::N => "null".into(),
        }
    }

    fn close_to(&self, other: &V) -> bool {
        match (self, other) {
            (V::F(a), V::F(b)) => (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0),
            (V::F(a), V::I(b)) | (V::I(b), V::F(a)) => (a - *b as f64).abs() < 1e-6,
            (V::L(a), V::L(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.close_to(y)),
            (a, b) => a == b,
        }
    }
}

fn value(s: &ScalarValue) -> V {
    use ScalarValue as S;
    match s {
        _ if s.is_null() => V::N,
        S::Int8(Some(v)) => V::I(*v as i64),
        S::Int16(Some(v)) => V::I(*v as i64),
        S::Int32(Some(v)) => V::I(*v as i64),
        S::Int64(Some(v)) => V::I(*v),
        S::UInt32(Some(v)) => V::I(*v as i64),
        S::UInt64(Some(v)) => V::I(*v as i64),
        S::Float32(Some(v)) => V::F(*v as f64),
        S::Float64(Some(v)) => V::F(*v),
        S::Decimal128(Some(v), _, scale) => V::F(*v as f64 / 10f64.powi(*scale as i32)),
        S::Utf8(Some(v)) | S::LargeUtf8(Some(v)) | S::Utf8View(Some(v)) => V::S(v.clone()),
        S::List(a) => {
            let values = a.value(0);
            V::L(
                (0..values.len())
                    .map(|i| value(&ScalarValue::try_from_array(&values, i).unwrap()))
                    .collect(),
            )
        }
        other => panic!("unexpected value {other:?}"),
    }
}

type Rows = Vec<Vec<V>>;

/// Sorts rows and checks them equal (floats within 1e-6 relative).
#[track_caller]
fn assert_same(query: &str, columns: &[String], mut got: Rows, mut want: Rows) {
    let sort = |rows: &mut Rows| {
        rows.sort_by_cached_key(|r| r.iter().map(V::key).collect::<Vec<_>>());
    };
    sort(&mut got);
    sort(&mut want);
    let show = |rows: &Rows| {
        rows.iter()
            .take(5)
            .map(|r| format!("  {}", r.iter().map(V::key).collect::<Vec<_>>().join(" | ")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if got.len() != want.len() {
        panic!(
            "{query}: {} rows, expected {} (columns {columns:?})\nfirst rows:\n{}\nexpected:\n{}",
            got.len(),
            want.len(),
            show(&got),
            show(&want)
        );
    }
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let same = g.len() == w.len() && g.iter().zip(w).all(|(a, b)| a.close_to(b));
        assert!(
            same,
            "{query}: row {i} differs (columns {columns:?})\n  got:      {}\n  expected: {}",
            g.iter().map(V::key).collect::<Vec<_>>().join(" | "),
            w.iter().map(V::key).collect::<Vec<_>>().join(" | ")
        );
    }
}

/// The generated events, owned.
struct Events {
    persons: Vec<Person<'static>>,
    auctions: Vec<Auction<'static>>,
    bids: Vec<Bid<'static>>,
}

fn events() -> Events {
    // Leaked: the events borrow text from the generator, which lives for the test.
    let generator: &'static Generator = Box::leak(Box::new(Generator::new(config())));
    let mut e = Events {
        persons: Vec::new(),
        auctions: Vec::new(),
        bids: Vec::new(),
    };
    for n in 0..EVENTS {
        match generator.event(n) {
            Event::Person(p) => e.persons.push(p),
            Event::Auction(a) => e.auctions.push(a),
            Event::Bid(b) => e.bids.push(b),
        }
    }
    e
}

/// The query's result from Flusso: column names and rows.
fn flusso(name: &str) -> (Vec<String>, Rows) {
    flusso_on(name, Path::InProcess)
}

/// The query's result from Flusso, with the events fed by `path`.
fn flusso_on(name: &str, path: Path) -> (Vec<String>, Rows) {
    let query = queries::find(name).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        generator: config(),
        events: EVENTS,
        dir: dir.path().to_path_buf(),
        collect: true,
        path,
        ..RunOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime
        .block_on(run(query, &options))
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    assert_eq!(outcome.report.errors, 0, "{name}: processing errors");
    let result = outcome.rows.unwrap();
    let columns = result.columns.iter().map(|(n, _, _)| n.clone()).collect();
    let rows = result
        .rows
        .iter()
        .map(|r| r.iter().map(value).collect())
        .collect();
    (columns, rows)
}

fn day(ts: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

fn minute(ts: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .unwrap()
        .format("%H:%M")
        .to_string()
}

fn table(columns: Vec<(&str, ArrayRef)>) -> Arc<MemTable> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())
}

fn ints<T>(rows: &[T], f: impl Fn(&T) -> i64) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(rows.iter().map(f)))
}

fn strs<T>(rows: &[T], f: impl Fn(&T) -> String) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
}

/// DataFusion over the events: tables `person`, `auction` and `bid` (with `day` and `minute`
/// of each bid's time, in UTC).
async fn datafusion(e: &Events, sql: &str) -> Rows {
    let ctx = SessionContext::new();
    let p = &e.persons;
    ctx.register_table(
        "person",
        table(vec![
            ("id", ints(p, |p| p.id)),
            ("name", strs(p, |p| p.name())),
            ("email_address", strs(p, |p| p.email_address.clone())),
            ("credit_card", strs(p, |p| p.credit_card())),
            ("city", strs(p, |p| p.city.into())),
            ("state", strs(p, |p| p.state.into())),
            ("date_time", ints(p, |p| p.date_time)),
            ("extra", strs(p, |p| p.extra.into())),
        ]),
    )
    .unwrap();
    let a = &e.auctions;
    ctx.register_table(
        "auction",
        table(vec![
            ("id", ints(a, |a| a.id)),
            ("item_name", strs(a, |a| a.item_name.clone())),
            ("description", strs(a, |a| a.description.clone())),
            ("initial_bid", ints(a, |a| a.initial_bid)),
            ("reserve", ints(a, |a| a.reserve)),
            ("date_time", ints(a, |a| a.date_time)),
            ("expires", ints(a, |a| a.expires)),
            ("seller", ints(a, |a| a.seller)),
            ("category", ints(a, |a| a.category)),
            ("extra", strs(a, |a| a.extra.into())),
        ]),
    )
    .unwrap();
    let b = &e.bids;
    ctx.register_table(
        "bid",
        table(vec![
            ("auction", ints(b, |b| b.auction)),
            ("bidder", ints(b, |b| b.bidder)),
            ("price", ints(b, |b| b.price)),
            ("channel", strs(b, |b| b.channel.into())),
            ("url", strs(b, |b| b.url.into())),
            ("date_time", ints(b, |b| b.date_time)),
            ("extra", strs(b, |b| b.extra.into())),
            ("day", strs(b, |b| day(b.date_time))),
            ("minute", strs(b, |b| minute(b.date_time))),
        ]),
    )
    .unwrap();
    let batches = ctx
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap();
    let mut rows = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            rows.push(
                b.columns()
                    .iter()
                    .map(|c| value(&ScalarValue::try_from_array(c, i).unwrap()))
                    .collect(),
            );
        }
    }
    rows
}

/// Checks query `name` against DataFusion running `sql` over the same events.
fn check_with_datafusion(name: &str, sql: &str) {
    let (columns, got) = flusso(name);
    let e = events();
    let want = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(datafusion(&e, sql));
    assert!(!want.is_empty(), "{name}: the reference result is empty");
    assert_same(name, &columns, got, want);
}

/// Checks query `name` against rows computed by `reference`.
fn check_with(name: &str, reference: impl FnOnce(&Events) -> Rows) {
    let (columns, got) = flusso(name);
    let want = reference(&events());
    assert!(!want.is_empty(), "{name}: the reference result is empty");
    assert_same(name, &columns, got, want);
}

/// The FILTERed counts of q15-q17: bids, bidders and auctions per price range.
const RANKS: &str = "count(*) AS total_bids,
     count(*) FILTER (WHERE price < 10000) AS rank1_bids,
     count(*) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_bids,
     count(*) FILTER (WHERE price >= 1000000) AS rank3_bids";
const DISTINCTS: &str = "count(DISTINCT bidder) AS total_bidders,
     count(DISTINCT bidder) FILTER (WHERE price < 10000) AS rank1_bidders,
     count(DISTINCT bidder) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_bidders,
     count(DISTINCT bidder) FILTER (WHERE price >= 1000000) AS rank3_bidders,
     count(DISTINCT auction) AS total_auctions,
     count(DISTINCT auction) FILTER (WHERE price < 10000) AS rank1_auctions,
     count(DISTINCT auction) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_auctions,
     count(DISTINCT auction) FILTER (WHERE price >= 1000000) AS rank3_auctions";

#[test]
fn q0_pass_through() {
    check_with_datafusion(
        "q0",
        "SELECT auction, bidder, price, date_time, extra FROM bid",
    );
}

#[test]
fn q1_currency_conversion() {
    check_with_datafusion(
        "q1",
        "SELECT auction, bidder, 0.908 * price, date_time, extra FROM bid",
    );
}

#[test]
fn q2_selection() {
    check_with_datafusion(
        "q2",
        "SELECT auction, price FROM bid WHERE auction % 123 = 0",
    );
}

#[test]
fn q3_local_item_suggestion() {
    // The stream-table join: the seller must have arrived before the auction.
    check_with_datafusion(
        "q3",
        "SELECT a.seller, p.name, p.city, p.state, a.id
         FROM auction a JOIN person p ON a.seller = p.id AND p.date_time <= a.date_time
         WHERE a.category = 10 AND p.state IN ('OR', 'ID', 'CA')",
    );
}

#[test]
fn q4_average_price_per_category() {
    // The reference suite's query, as written.
    check_with_datafusion(
        "q4",
        "SELECT category, AVG(final) FROM (
           SELECT MAX(b.price) AS final, a.category
           FROM auction a, bid b
           WHERE a.id = b.auction AND b.date_time BETWEEN a.date_time AND a.expires
           GROUP BY a.id, a.category) q
         GROUP BY category",
    );
}

/// Stream time once every bid has been read: the latest bid time.
fn stream_time(e: &Events) -> i64 {
    e.bids.iter().map(|b| b.date_time).max().unwrap()
}

#[test]
fn q5_hot_items() {
    check_with("q5", |e| {
        // Bid counts per hopping window (10 s, every 2 s) and auction, windows closed (grace 0).
        let now = stream_time(e);
        let mut counts: BTreeMap<i64, HashMap<i64, i64>> = BTreeMap::new();
        for b in &e.bids {
            let last = b.date_time - b.date_time.rem_euclid(2_000);
            let mut start = last;
            while start > b.date_time - 10_000 {
                *counts
                    .entry(start)
                    .or_default()
                    .entry(b.auction)
                    .or_default() += 1;
                start -= 2_000;
            }
        }
        let mut rows = Vec::new();
        for (start, per_auction) in counts {
            if start + 10_000 > now {
                continue;
            }
            let max = *per_auction.values().max().unwrap();
            for (auction, n) in per_auction {
                if n == max {
                    rows.push(vec![V::I(auction), V::I(start), V::I(n), V::I(max)]);
                }
            }
        }
        rows
    });
}

#[test]
fn q7_highest_bid() {
    check_with_datafusion(
        "q7",
        &format!(
            "SELECT b.price, b.auction, b.bidder, b.date_time, b.extra
             FROM bid b JOIN (
               SELECT date_time / 10000 * 10000 AS starttime, MAX(price) AS maxprice
               FROM bid GROUP BY date_time / 10000 * 10000) w
             ON b.price = w.maxprice
               AND b.date_time BETWEEN w.starttime AND w.starttime + 10000
             WHERE w.starttime + 10000 <= {}",
            stream_time(&events())
        ),
    );
}

#[test]
fn q8_monitor_new_users() {
    // One row per (person, auction) pair of the same window: the join's rows.
    check_with_datafusion(
        "q8",
        "SELECT p.id, p.name, p.date_time / 10000 * 10000
         FROM person p JOIN auction a
           ON p.id = a.seller AND p.date_time / 10000 = a.date_time / 10000",
    );
}

#[test]
fn q11_user_sessions() {
    check_with("q11", |e| {
        // Sessions per bidder: a bid more than 10 s after the previous one starts a new one.
        let mut times: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for b in &e.bids {
            times.entry(b.bidder).or_default().push(b.date_time);
        }
        let mut rows = Vec::new();
        for (bidder, ts) in times {
            let (mut start, mut end, mut n) = (ts[0], ts[0], 0);
            for t in ts {
                if t - end > 10_000 {
                    rows.push(vec![V::I(bidder), V::I(start), V::I(end), V::I(n)]);
                    (start, n) = (t, 0);
                }
                end = t;
                n += 1;
            }
            rows.push(vec![V::I(bidder), V::I(start), V::I(end), V::I(n)]);
        }
        rows.into_iter()
            .map(|r| {
                let (s, e) = (r[1].clone(), r[2].clone());
                vec![r[0].clone(), s.clone(), e.clone(), r[3].clone(), s, e]
            })
            .collect()
    });
}

#[test]
fn q12_processing_time_windows() {
    // Windows of produce time cannot be recomputed; every bid must be counted once, in
    // 10-second windows.
    let (columns, got) = flusso("q12");
    assert_eq!(
        columns[..4],
        ["BIDDER", "WINDOWSTART", "WINDOWEND", "BID_COUNT"]
    );
    let mut per_bidder: BTreeMap<i64, i64> = BTreeMap::new();
    for r in &got {
        let (V::I(bidder), V::I(start), V::I(end), V::I(n)) = (&r[0], &r[1], &r[2], &r[3]) else {
            panic!("q12: unexpected row {r:?}");
        };
        assert_eq!(
            (start % 10_000, end - start),
            (0, 10_000),
            "q12: window {r:?}"
        );
        *per_bidder.entry(*bidder).or_default() += n;
    }
    let mut want: BTreeMap<i64, i64> = BTreeMap::new();
    for b in &events().bids {
        *want.entry(b.bidder).or_default() += 1;
    }
    assert_eq!(per_bidder, want, "q12: bids per bidder over all windows");
}

#[test]
fn q14_calculation() {
    check_with_datafusion(
        "q14",
        "SELECT auction, bidder, 0.908 * price,
           CASE
             WHEN (date_time / 3600000) % 24 >= 8 AND (date_time / 3600000) % 24 <= 18 THEN 'dayTime'
             WHEN (date_time / 3600000) % 24 <= 6 OR (date_time / 3600000) % 24 >= 20 THEN 'nightTime'
             ELSE 'otherTime'
           END,
           date_time, extra, length(extra) - length(replace(extra, 'c', ''))
         FROM bid
         WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000",
    );
}

#[test]
fn q15_bidding_statistics() {
    check_with_datafusion(
        "q15",
        &format!("SELECT day, {RANKS}, {DISTINCTS} FROM bid GROUP BY day"),
    );
}

#[test]
fn q16_channel_statistics() {
    check_with_datafusion(
        "q16",
        &format!(
            "SELECT channel, day, max(minute), {RANKS}, {DISTINCTS} FROM bid GROUP BY channel, day"
        ),
    );
}

#[test]
fn q17_auction_statistics() {
    check_with_datafusion(
        "q17",
        &format!(
            "SELECT auction, day, {RANKS}, min(price), max(price), avg(price), sum(price)
             FROM bid GROUP BY auction, day"
        ),
    );
}

#[test]
fn q18_find_last_bid() {
    check_with_datafusion(
        "q18",
        "SELECT bidder, auction, price, channel, url, date_time, extra FROM (
           SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY date_time DESC) AS rn
           FROM bid) b
         WHERE rn = 1",
    );
}

#[test]
fn q19_auction_top_prices() {
    check_with("q19", |e| {
        let mut prices: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for b in &e.bids {
            prices.entry(b.auction).or_default().push(b.price);
        }
        prices
            .into_iter()
            .map(|(auction, mut p)| {
                p.sort_unstable_by(|a, b| b.cmp(a));
                p.truncate(10);
                vec![V::I(auction), V::L(p.into_iter().map(V::I).collect())]
            })
            .collect()
    });
}

#[test]
fn q20_expand_bid_with_auction() {
    // The stream-table join: the auction must have arrived before the bid.
    check_with_datafusion(
        "q20",
        "SELECT b.auction, b.bidder, b.price, b.channel, b.url, b.date_time, b.extra,
           a.item_name, a.description, a.initial_bid, a.reserve, a.date_time, a.expires,
           a.seller, a.category, a.extra
         FROM bid b JOIN auction a ON b.auction = a.id AND a.date_time <= b.date_time
         WHERE a.category = 10",
    );
}

#[test]
fn q21_add_channel_id() {
    check_with("q21", |e| {
        let pattern = regex::Regex::new("(&|^)channel_id=([^&]*)").unwrap();
        e.bids
            .iter()
            .filter_map(|b| {
                let from_url = pattern
                    .captures(b.url)
                    .and_then(|c| c.get(2))
                    .map(|m| m.as_str().to_string());
                let id = match b.channel.to_lowercase().as_str() {
                    "apple" => Some("0".to_string()),
                    "google" => Some("1".to_string()),
                    "facebook" => Some("2".to_string()),
                    "baidu" => Some("3".to_string()),
                    _ => from_url,
                }?;
                Some(vec![
                    V::I(b.auction),
                    V::I(b.bidder),
                    V::I(b.price),
                    V::S(b.channel.into()),
                    V::S(id),
                ])
            })
            .collect()
    });
}

#[test]
fn q22_url_directories() {
    check_with("q22", |e| {
        e.bids
            .iter()
            .map(|b| {
                let parts: Vec<&str> = b.url.split('/').collect();
                let dir = |i: usize| parts.get(i).map_or(V::N, |s| V::S(s.to_string()));
                vec![
                    V::I(b.auction),
                    V::I(b.bidder),
                    V::I(b.price),
                    V::S(b.channel.into()),
                    dir(3),
                    dir(4),
                    dir(5),
                ]
            })
            .collect()
    });
}

/// Every query of the suite has a check here.
#[test]
fn every_query_is_checked() {
    let source = include_str!("queries.rs");
    for q in flusso_nexmark::QUERIES {
        assert!(
            source.contains(&format!("fn {}_", q.name)),
            "{} has no check",
            q.name
        );
    }
}

/// The three paths give the same result: Arrow batches straight into the plan, JSON through the
/// embedded log, and JSON over rdkafka. Their outputs' changelogs may differ (a table emits the
/// latest update per key per step, and steps differ), their final rows must not. q5 (EMIT FINAL
/// hopping windows, a foreign-key join of two tables) and q11 (session windows) are the
/// queries where that depends on how far stream time moves within a step.
#[test]
fn paths_agree() {
    for name in ["q5", "q11"] {
        let (columns, in_process) = flusso_on(name, Path::InProcess);
        for path in [Path::Log, Path::Kafka] {
            let (_, rows) = flusso_on(name, path);
            assert_same(
                &format!("{name} over {}", path.name()),
                &columns,
                rows,
                in_process.clone(),
            );
        }
    }
}
