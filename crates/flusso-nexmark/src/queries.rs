//! The Nexmark queries in Flusso's SQL (`sql-examples/nexmark/`, compiled in), with what the
//! runner needs to know about each: the sink holding its result and its per-core targets.

/// The three source streams every query reads (`00-sources.sql`).
pub const SOURCES: &str = include_str!("../../../sql-examples/nexmark/00-sources.sql");

/// What a query's result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// A stream: every row counts (compared as a multiset).
    Stream,
    /// A table: its rows once the input has been read (latest value per key).
    Table,
}

/// What kind of work the query does, which decides its target through the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Projections and filters.
    Stateless,
    /// Time windows (tumbling, hopping, session) or windowed joins.
    Windowed,
    /// Unwindowed aggregations and table joins.
    Stateful,
}

/// The timestamp of an output row, for latency: the event time it follows from, or the
/// record's own (produce) time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowTime {
    /// ROWTIME is an event time (`date_time` of an input, or a window bound).
    EventTime,
    /// ROWTIME is the time the input record was produced (q12's processing time).
    ProduceTime,
}

/// One Nexmark query.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    /// `q0`, `q1`, ...
    pub name: &'static str,
    /// What it computes, in a few words.
    pub title: &'static str,
    /// The statements (after `SOURCES`).
    pub sql: &'static str,
    /// The stream or table holding the result (upper case, as the catalog names it).
    pub sink: &'static str,
    /// Stream or table.
    pub output: Output,
    /// Stateless, windowed or stateful.
    pub class: Class,
    /// What ROWTIME of an output row is.
    pub row_time: RowTime,
    /// Target in events/s per core, in-process (`None`: no target set).
    pub target_in_process: Option<u64>,
}

impl Query {
    /// Target in events/s per core through the log with JSON (`--path log` or `kafka`):
    /// 200,000 for stateless queries, 100,000 for windowed ones, none for the others.
    pub fn target_log(&self) -> Option<u64> {
        match self.class {
            Class::Stateless => Some(200_000),
            Class::Windowed => Some(100_000),
            Class::Stateful => None,
        }
    }
}

macro_rules! query {
    ($name:literal, $title:literal, $sink:literal, $output:ident, $class:ident, $row_time:ident, $target:expr) => {
        Query {
            name: $name,
            title: $title,
            sql: include_str!(concat!("../../../sql-examples/nexmark/", $name, ".sql")),
            sink: $sink,
            output: Output::$output,
            class: Class::$class,
            row_time: RowTime::$row_time,
            target_in_process: $target,
        }
    };
}

/// Every query, in suite order.
pub const QUERIES: &[Query] = &[
    query!(
        "q0",
        "pass through",
        "Q0",
        Stream,
        Stateless,
        EventTime,
        Some(1_000_000)
    ),
    query!(
        "q1",
        "currency conversion",
        "Q1",
        Stream,
        Stateless,
        EventTime,
        Some(1_000_000)
    ),
    query!(
        "q2",
        "selection",
        "Q2",
        Stream,
        Stateless,
        EventTime,
        Some(1_000_000)
    ),
    query!(
        "q3",
        "local item suggestion (stream-table join)",
        "Q3",
        Stream,
        Stateful,
        EventTime,
        None
    ),
    query!(
        "q4",
        "average price per category (join, two aggregations)",
        "Q4",
        Table,
        Stateful,
        EventTime,
        None
    ),
    query!(
        "q5",
        "hot items (hopping windows, max, join)",
        "Q5",
        Table,
        Windowed,
        EventTime,
        Some(250_000)
    ),
    query!(
        "q7",
        "highest bid (tumbling max joined back)",
        "Q7",
        Stream,
        Windowed,
        EventTime,
        Some(100_000)
    ),
    query!(
        "q8",
        "monitor new users (windowed join)",
        "Q8",
        Stream,
        Windowed,
        EventTime,
        Some(150_000)
    ),
    query!(
        "q11",
        "user sessions (session windows)",
        "Q11",
        Table,
        Windowed,
        EventTime,
        Some(100_000)
    ),
    query!(
        "q12",
        "processing-time windows",
        "Q12",
        Table,
        Windowed,
        ProduceTime,
        None
    ),
    query!(
        "q14",
        "calculation",
        "Q14",
        Stream,
        Stateless,
        EventTime,
        None
    ),
    query!(
        "q15",
        "bidding statistics per day",
        "Q15",
        Table,
        Stateful,
        EventTime,
        None
    ),
    query!(
        "q16",
        "channel statistics per day",
        "Q16",
        Table,
        Stateful,
        EventTime,
        None
    ),
    query!(
        "q17",
        "auction statistics per day",
        "Q17",
        Table,
        Stateful,
        EventTime,
        None
    ),
    query!(
        "q18",
        "find last bid",
        "Q18",
        Table,
        Stateful,
        EventTime,
        None
    ),
    query!(
        "q19",
        "auction top-10 prices",
        "Q19",
        Table,
        Stateful,
        EventTime,
        None
    ),
    query!(
        "q20",
        "expand bid with auction (stream-table join)",
        "Q20",
        Stream,
        Stateful,
        EventTime,
        None
    ),
    query!(
        "q21",
        "add channel id",
        "Q21",
        Stream,
        Stateless,
        EventTime,
        None
    ),
    query!(
        "q22",
        "URL directories",
        "Q22",
        Stream,
        Stateless,
        EventTime,
        None
    ),
];

/// The query named `name` (`q5` or `5`, any case).
pub fn find(name: &str) -> Option<&'static Query> {
    let name = name.trim().to_ascii_lowercase();
    let name = if name.starts_with('q') {
        name
    } else {
        format!("q{name}")
    };
    QUERIES.iter().find(|q| q.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_parses_and_names_its_sink() {
        flusso_sql::parse(SOURCES).unwrap();
        for q in QUERIES {
            let statements = flusso_sql::parse(q.sql).unwrap_or_else(|e| panic!("{}: {e}", q.name));
            assert!(!statements.is_empty(), "{}", q.name);
            let last = q.sql.trim_end().rsplit(';').nth(1).unwrap_or_default();
            assert!(
                last.to_ascii_uppercase().contains(&format!(
                    "CREATE {} {} ",
                    match q.output {
                        Output::Stream => "STREAM",
                        Output::Table => "TABLE",
                    },
                    q.sink
                )),
                "{}: the last statement must create {}",
                q.name,
                q.sink
            );
        }
        assert_eq!(find("Q5").unwrap().name, "q5");
        assert_eq!(find("11").unwrap().name, "q11");
        assert!(find("q6").is_none());
    }
}
