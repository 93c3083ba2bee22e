//! Generated events as Arrow batches of a source's scan schema, for the runner's in-process
//! path: the plan gets the events' columns directly, with no serialisation and no log between.

use std::fmt::Write as _;

use datafusion::arrow::array::{ArrayRef, Int32Builder, Int64Builder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use crate::generator::{Event, Kind};

impl Kind {
    /// The columns of the kind's stream in `00-sources.sql`, in order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Person => &[
                "ID",
                "NAME",
                "EMAIL_ADDRESS",
                "CREDIT_CARD",
                "CITY",
                "STATE",
                "DATE_TIME",
                "EXTRA",
            ],
            Kind::Auction => &[
                "ID",
                "ITEM_NAME",
                "DESCRIPTION",
                "INITIAL_BID",
                "RESERVE",
                "DATE_TIME",
                "EXPIRES",
                "SELLER",
                "CATEGORY",
                "EXTRA",
            ],
            Kind::Bid => &[
                "AUCTION",
                "BIDDER",
                "PRICE",
                "CHANNEL",
                "URL",
                "DATE_TIME",
                "EXTRA",
            ],
        }
    }
}

/// One column's value of an event.
enum Value<'e> {
    Int(i64),
    Str(&'e str),
    /// A person's name: first and last.
    Name(&'e str, &'e str),
    /// A person's credit card: four groups of four digits.
    Card([u16; 4]),
}

impl Event<'_> {
    /// Column `i` of [`Kind::columns`].
    fn column(&self, i: usize) -> Value<'_> {
        match self {
            Event::Person(p) => match i {
                0 => Value::Int(p.id),
                1 => Value::Name(p.first_name, p.last_name),
                2 => Value::Str(&p.email_address),
                3 => Value::Card(p.credit_card),
                4 => Value::Str(p.city),
                5 => Value::Str(p.state),
                6 => Value::Int(p.date_time),
                _ => Value::Str(p.extra),
            },
            Event::Auction(a) => match i {
                0 => Value::Int(a.id),
                1 => Value::Str(&a.item_name),
                2 => Value::Str(&a.description),
                3 => Value::Int(a.initial_bid),
                4 => Value::Int(a.reserve),
                5 => Value::Int(a.date_time),
                6 => Value::Int(a.expires),
                7 => Value::Int(a.seller),
                8 => Value::Int(a.category),
                _ => Value::Str(a.extra),
            },
            Event::Bid(b) => match i {
                0 => Value::Int(b.auction),
                1 => Value::Int(b.bidder),
                2 => Value::Int(b.price),
                3 => Value::Str(b.channel),
                4 => Value::Str(b.url),
                5 => Value::Int(b.date_time),
                _ => Value::Str(b.extra),
            },
        }
    }
}

/// Where a scan-schema column's values come from.
#[derive(Clone, Copy)]
enum Origin {
    Column(usize),
    RowTime,
    Partition,
    Offset,
}

enum Builder {
    Int64(Int64Builder),
    Int32(Int32Builder),
    Utf8(StringBuilder),
}

/// Builds batches of one kind's events in a source's scan schema.
pub struct ScanBatches {
    schema: SchemaRef,
    origins: Vec<Origin>,
    /// The column ROWTIME is taken from (the source's TIMESTAMP), or the record timestamp.
    rowtime: Option<usize>,
    builders: Vec<Builder>,
}

impl ScanBatches {
    /// For `kind`'s events read through a source with scan schema `schema`, whose TIMESTAMP
    /// column is `timestamp` (`None`: the record's timestamp is ROWTIME).
    pub fn new(kind: Kind, schema: SchemaRef, timestamp: Option<&str>) -> anyhow::Result<Self> {
        let column = |name: &str| {
            kind.columns()
                .iter()
                .position(|c| c.eq_ignore_ascii_case(name))
        };
        let rowtime = match timestamp {
            Some(t) => {
                Some(column(t).ok_or_else(|| anyhow::anyhow!("{kind:?} has no column {t}"))?)
            }
            None => None,
        };
        let mut origins = Vec::new();
        let mut builders = Vec::new();
        for f in schema.fields() {
            let origin = match f.name().as_str() {
                "ROWTIME" => Origin::RowTime,
                "ROWPARTITION" => Origin::Partition,
                "ROWOFFSET" => Origin::Offset,
                name => Origin::Column(
                    column(name).ok_or_else(|| anyhow::anyhow!("{kind:?} has no column {name}"))?,
                ),
            };
            let builder = match f.data_type() {
                DataType::Int64 => Builder::Int64(Int64Builder::new()),
                DataType::Int32 => Builder::Int32(Int32Builder::new()),
                DataType::Utf8 => Builder::Utf8(StringBuilder::new()),
                other => anyhow::bail!("column {} of type {other} is not generated", f.name()),
            };
            origins.push(origin);
            builders.push(builder);
        }
        Ok(ScanBatches {
            schema,
            origins,
            rowtime,
            builders,
        })
    }

    /// Appends one event, read from `partition` at `offset` with record timestamp `timestamp`.
    pub fn push(&mut self, event: &Event<'_>, partition: i32, offset: i64, timestamp: i64) {
        for (origin, builder) in self.origins.iter().zip(&mut self.builders) {
            let value = match *origin {
                Origin::Column(i) => event.column(i),
                Origin::RowTime => match self.rowtime.map(|i| event.column(i)) {
                    Some(Value::Int(t)) => Value::Int(t),
                    _ => Value::Int(timestamp),
                },
                Origin::Partition => Value::Int(partition as i64),
                Origin::Offset => Value::Int(offset),
            };
            match (builder, value) {
                (Builder::Int64(b), Value::Int(v)) => b.append_value(v),
                (Builder::Int32(b), Value::Int(v)) => b.append_value(v as i32),
                (Builder::Utf8(b), Value::Str(s)) => b.append_value(s),
                (Builder::Utf8(b), Value::Name(first, last)) => {
                    let _ = write!(b, "{first} {last}");
                    b.append_value("");
                }
                (Builder::Utf8(b), Value::Card(c)) => {
                    let _ = write!(b, "{:04} {:04} {:04} {:04}", c[0], c[1], c[2], c[3]);
                    b.append_value("");
                }
                (Builder::Int64(b), _) => b.append_null(),
                (Builder::Int32(b), _) => b.append_null(),
                (Builder::Utf8(b), Value::Int(v)) => b.append_value(v.to_string()),
            }
        }
    }

    /// The events pushed since the last call, as one batch.
    pub fn finish(&mut self) -> anyhow::Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Int64(b) => std::sync::Arc::new(b.finish()),
                    Builder::Int32(b) => std::sync::Arc::new(b.finish()),
                    Builder::Utf8(b) => std::sync::Arc::new(b.finish()),
                }
            })
            .collect();
        Ok(RecordBatch::try_new(self.schema.clone(), arrays)?)
    }
}
