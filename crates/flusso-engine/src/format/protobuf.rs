//! PROTOBUF_NOSR: proto3 records without a schema registry. The message type is derived from the
//! columns, as ksqlDB does:
//!
//! - columns are fields numbered 1..n in column order (a nested STRUCT's fields likewise, in a
//!   nested message);
//! - BOOLEAN is `bool`, INT `int32`, BIGINT `int64`, DOUBLE `double`, STRING `string`, BYTES
//!   `bytes`;
//! - DECIMAL is `confluent.type.Decimal` (`bytes value = 1` the big-endian two's-complement
//!   unscaled value, `uint32 precision = 2`, `int32 scale = 3`), DATE `google.type.Date`
//!   (`year`, `month`, `day`), TIME `google.type.TimeOfDay` (`hours`, `minutes`, `seconds`,
//!   `nanos`), TIMESTAMP `google.protobuf.Timestamp` (`int64 seconds`, `int32 nanos`);
//! - ARRAY is a `repeated` field (packed for numbers and booleans), MAP a `repeated` entry message
//!   (`key = 1`, `value = 2`; keys must be strings).
//!
//! Proto3 has no presence for scalars: a NULL or default scalar is not written and reads back as
//! `0`, `""` or `false`; an empty or NULL ARRAY or MAP reads back empty. Message-typed fields
//! (STRUCT, DECIMAL, DATE, TIME, TIMESTAMP) keep NULL. A single unwrapped column (every single-
//! column key, or `WRAP_SINGLE_VALUE=false`) is written as the wrapper message of its type
//! (`google.protobuf.Int32Value`, ...: the value in field 1), a STRUCT as its own message.

use datafusion::common::ScalarValue;

use crate::types::SqlType;
use crate::value::{
    list_items, list_value, map_entries, map_value, null_of, parse_decimal, struct_fields,
    struct_value,
};

/// The error ksqlDB reports for a map with non-string keys.
pub(super) const MAP_KEYS_MESSAGE: &str = "PROTOBUF format only supports MAP types with STRING keys. See https://github.com/confluentinc/ksql/issues/6177.";

/// Whether a type holds a MAP whose keys are not strings.
pub(super) fn has_non_string_map_key(t: &SqlType) -> bool {
    match t {
        SqlType::Map(k, v) => **k != SqlType::String || has_non_string_map_key(v),
        SqlType::Array(e) => has_non_string_map_key(e),
        SqlType::Struct(f) => f.iter().any(|(_, t)| has_non_string_map_key(t)),
        _ => false,
    }
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

const MILLIS_PER_DAY: i64 = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------------------------

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, tag: u32, wire: u8) {
    put_varint(out, (u64::from(tag) << 3) | u64::from(wire));
}

fn put_bytes(out: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    put_key(out, tag, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// One field occurrence as read from the wire.
#[derive(Debug, Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

const TRUNCATED: &str = "While parsing a protocol message, the input ended unexpectedly in the middle of a field.  This could mean either that the input has been truncated or that an embedded message misreported its own length.";

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = *self.buf.get(self.pos).ok_or(TRUNCATED)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("CodedInputStream encountered a malformed varint.".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or(TRUNCATED)?;
        let bytes = self.buf.get(self.pos..end).ok_or(TRUNCATED)?;
        self.pos = end;
        Ok(bytes)
    }

    /// The next field number and value; `None` at the end.
    fn field(&mut self) -> Result<Option<(u32, Wire<'a>)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let tag = key >> 3;
        if tag == 0 || tag > u64::from(u32::MAX >> 3) {
            return Err("Protocol message contained an invalid tag (zero).".into());
        }
        let value = match (key & 7) as u8 {
            VARINT => Wire::Varint(self.varint()?),
            FIXED64 => Wire::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().map_err(|_| TRUNCATED)?,
            )),
            LEN => {
                let n = self.varint()?;
                let n = usize::try_from(n).map_err(|_| TRUNCATED)?;
                Wire::Len(self.take(n)?)
            }
            FIXED32 => Wire::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().map_err(|_| TRUNCATED)?,
            )),
            _ => return Err("Protocol message tag had invalid wire type.".into()),
        };
        Ok(Some((tag as u32, value)))
    }
}

/// A message's fields by number (1-based, up to `count`); other fields are ignored.
fn parse_message(buf: &[u8], count: usize) -> Result<Vec<Vec<Wire<'_>>>, String> {
    let mut fields = vec![Vec::new(); count];
    let mut r = Reader::new(buf);
    while let Some((tag, value)) = r.field()? {
        if let Some(slot) = fields.get_mut(tag as usize - 1) {
            slot.push(value);
        }
    }
    Ok(fields)
}

/// The last varint occurrence (a scalar field read twice keeps the last value).
fn last_varint(occ: &[Wire<'_>]) -> Option<u64> {
    occ.iter().rev().find_map(|w| match w {
        Wire::Varint(v) => Some(*v),
        _ => None,
    })
}

fn last_len<'a>(occ: &[Wire<'a>]) -> Option<&'a [u8]> {
    occ.iter().rev().find_map(|w| match w {
        Wire::Len(b) => Some(*b),
        _ => None,
    })
}

/// A message field's bytes: occurrences of a message field merge, which for the wire is their
/// concatenation. `None` when absent.
fn message_bytes(occ: &[Wire<'_>]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    for w in occ {
        if let Wire::Len(b) = w {
            out.get_or_insert_with(Vec::new).extend_from_slice(b);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

fn cannot_write(v: &ScalarValue, t: &SqlType) -> String {
    format!("PROTOBUF_NOSR cannot write {v:?} as {t}")
}

fn int_of(v: &ScalarValue) -> Option<i64> {
    Some(match v {
        ScalarValue::Int8(Some(i)) => i64::from(*i),
        ScalarValue::Int16(Some(i)) => i64::from(*i),
        ScalarValue::Int32(Some(i)) => i64::from(*i),
        ScalarValue::Int64(Some(i)) => *i,
        ScalarValue::UInt8(Some(i)) => i64::from(*i),
        ScalarValue::UInt16(Some(i)) => i64::from(*i),
        ScalarValue::UInt32(Some(i)) => i64::from(*i),
        ScalarValue::UInt64(Some(i)) => i64::try_from(*i).ok()?,
        _ => return None,
    })
}

fn double_of(v: &ScalarValue) -> Option<f64> {
    match v {
        ScalarValue::Float64(Some(f)) => Some(*f),
        ScalarValue::Float32(Some(f)) => Some(f64::from(*f)),
        other => int_of(other).map(|i| i as f64),
    }
}

fn str_of(v: &ScalarValue) -> Option<&str> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s),
        _ => None,
    }
}

fn bytes_of(v: &ScalarValue) -> Option<&[u8]> {
    match v {
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b))
        | ScalarValue::FixedSizeBinary(_, Some(b)) => Some(b),
        _ => None,
    }
}

fn date_of(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::Date32(Some(d)) => Some(i64::from(*d)),
        ScalarValue::Date64(Some(ms)) => Some(ms.div_euclid(MILLIS_PER_DAY)),
        _ => None,
    }
}

fn time_of(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::Time32Millisecond(Some(t)) => Some(i64::from(*t)),
        ScalarValue::Time32Second(Some(t)) => Some(i64::from(*t) * 1000),
        ScalarValue::Time64Microsecond(Some(t)) => Some(t / 1000),
        ScalarValue::Time64Nanosecond(Some(t)) => Some(t / 1_000_000),
        _ => None,
    }
}

fn timestamp_of(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::TimestampMillisecond(Some(t), _) => Some(*t),
        ScalarValue::TimestampSecond(Some(t), _) => Some(t * 1000),
        ScalarValue::TimestampMicrosecond(Some(t), _) => Some(t.div_euclid(1000)),
        ScalarValue::TimestampNanosecond(Some(t), _) => Some(t.div_euclid(1_000_000)),
        _ => None,
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01, proleptic Gregorian.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// The minimal big-endian two's-complement bytes of an integer (Java's
/// `BigInteger.toByteArray`).
fn twos_complement(v: i128) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

fn from_twos_complement(bytes: &[u8]) -> Result<i128, String> {
    if bytes.is_empty() {
        return Err("Zero length BigInteger".into());
    }
    if bytes.len() > 16 {
        return Err("Decimal value is too large".into());
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut buf = [fill; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(i128::from_be_bytes(buf))
}

fn digits(v: i128) -> u32 {
    let mut n = v.unsigned_abs();
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

fn is_packable(t: &SqlType) -> bool {
    matches!(
        t,
        SqlType::Boolean | SqlType::Int | SqlType::Bigint | SqlType::Double
    )
}

fn is_message(t: &SqlType) -> bool {
    matches!(
        t,
        SqlType::Decimal(..)
            | SqlType::Date
            | SqlType::Time
            | SqlType::Timestamp
            | SqlType::Struct(_)
    )
}

/// The raw (untagged) encoding of a packable scalar.
fn put_packed(out: &mut Vec<u8>, t: &SqlType, v: &ScalarValue) -> Result<(), String> {
    match t {
        SqlType::Boolean => match v {
            ScalarValue::Boolean(Some(b)) => put_varint(out, u64::from(*b)),
            _ => return Err(cannot_write(v, t)),
        },
        SqlType::Int => {
            let i = int_of(v).ok_or_else(|| cannot_write(v, t))?;
            // int32 is sign-extended to 64 bits on the wire.
            put_varint(out, i64::from(i as i32) as u64);
        }
        SqlType::Bigint => put_varint(out, int_of(v).ok_or_else(|| cannot_write(v, t))? as u64),
        SqlType::Double => out.extend_from_slice(
            &double_of(v)
                .ok_or_else(|| cannot_write(v, t))?
                .to_le_bytes(),
        ),
        _ => return Err(cannot_write(v, t)),
    }
    Ok(())
}

/// The body of a message-typed value (STRUCT, DECIMAL, DATE, TIME, TIMESTAMP).
fn message_body(t: &SqlType, v: &ScalarValue) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    match t {
        SqlType::Struct(fields) => {
            let values = struct_fields(v).ok_or_else(|| cannot_write(v, t))?;
            for (i, ((_, ft), (_, fv))) in fields.iter().zip(&values).enumerate() {
                put_field(&mut out, i as u32 + 1, ft, fv, false)?;
            }
        }
        SqlType::Decimal(..) => {
            let ScalarValue::Decimal128(Some(unscaled), _, scale) = v else {
                return Err(cannot_write(v, t));
            };
            put_bytes(&mut out, 1, &twos_complement(*unscaled));
            put_key(&mut out, 2, VARINT);
            put_varint(&mut out, u64::from(digits(*unscaled)));
            if *scale != 0 {
                put_key(&mut out, 3, VARINT);
                put_varint(&mut out, i64::from(*scale) as u64);
            }
        }
        SqlType::Date => {
            let (y, m, d) = civil_from_days(date_of(v).ok_or_else(|| cannot_write(v, t))?);
            for (tag, x) in [(1, y), (2, i64::from(m)), (3, i64::from(d))] {
                if x != 0 {
                    put_key(&mut out, tag, VARINT);
                    put_varint(&mut out, i64::from(x as i32) as u64);
                }
            }
        }
        SqlType::Time => {
            let ms = time_of(v).ok_or_else(|| cannot_write(v, t))?;
            if !(0..=MILLIS_PER_DAY).contains(&ms) {
                return Err(
                    "Time values must use number of millis greater than 0 and less than 86400000"
                        .into(),
                );
            }
            let ms = ms % MILLIS_PER_DAY;
            let parts = [
                ms / 3_600_000,
                ms / 60_000 % 60,
                ms / 1000 % 60,
                ms % 1000 * 1_000_000,
            ];
            for (i, x) in parts.into_iter().enumerate() {
                if x != 0 {
                    put_key(&mut out, i as u32 + 1, VARINT);
                    put_varint(&mut out, x as u64);
                }
            }
        }
        SqlType::Timestamp => {
            let ms = timestamp_of(v).ok_or_else(|| cannot_write(v, t))?;
            let (seconds, nanos) = (ms.div_euclid(1000), ms.rem_euclid(1000) * 1_000_000);
            if seconds != 0 {
                put_key(&mut out, 1, VARINT);
                put_varint(&mut out, seconds as u64);
            }
            if nanos != 0 {
                put_key(&mut out, 2, VARINT);
                put_varint(&mut out, nanos as u64);
            }
        }
        _ => return Err(cannot_write(v, t)),
    }
    Ok(out)
}

/// Appends field `tag` holding `v`. Proto3 leaves out NULLs and default scalars, except for the
/// elements of a repeated field (`element`), which are always written.
fn put_field(
    out: &mut Vec<u8>,
    tag: u32,
    t: &SqlType,
    v: &ScalarValue,
    element: bool,
) -> Result<(), String> {
    if v.is_null() {
        if element {
            return Err("PROTOBUF_NOSR cannot write a NULL element of an ARRAY".into());
        }
        return Ok(());
    }
    match t {
        SqlType::Boolean | SqlType::Int | SqlType::Bigint => {
            let mut raw = Vec::new();
            put_packed(&mut raw, t, v)?;
            if element || raw != [0] {
                put_key(out, tag, VARINT);
                out.extend_from_slice(&raw);
            }
        }
        SqlType::Double => {
            let f = double_of(v).ok_or_else(|| cannot_write(v, t))?;
            if element || f.to_bits() != 0 {
                put_key(out, tag, FIXED64);
                out.extend_from_slice(&f.to_le_bytes());
            }
        }
        SqlType::String => {
            let s = str_of(v).ok_or_else(|| cannot_write(v, t))?;
            if element || !s.is_empty() {
                put_bytes(out, tag, s.as_bytes());
            }
        }
        SqlType::Bytes => {
            let b = bytes_of(v).ok_or_else(|| cannot_write(v, t))?;
            if element || !b.is_empty() {
                put_bytes(out, tag, b);
            }
        }
        SqlType::Array(e) => {
            if element {
                return Err("Array cannot be nested".into());
            }
            let items = list_items(v).ok_or_else(|| cannot_write(v, t))?;
            if items.is_empty() {
                return Ok(());
            }
            if matches!(**e, SqlType::Array(_) | SqlType::Map(..)) {
                return Err("Array cannot be nested".into());
            }
            if is_packable(e) {
                let mut raw = Vec::new();
                for item in &items {
                    if item.is_null() {
                        return Err("PROTOBUF_NOSR cannot write a NULL element of an ARRAY".into());
                    }
                    put_packed(&mut raw, e, item)?;
                }
                put_bytes(out, tag, &raw);
            } else {
                for item in &items {
                    put_field(out, tag, e, item, true)?;
                }
            }
        }
        SqlType::Map(k, mv) => {
            if element {
                return Err("Array cannot be nested".into());
            }
            for (key, value) in map_entries(v).ok_or_else(|| cannot_write(v, t))? {
                let mut entry = Vec::new();
                put_field(&mut entry, 1, k, &key, false)?;
                put_field(&mut entry, 2, mv, &value, false)?;
                put_bytes(out, tag, &entry);
            }
        }
        _ => {
            let body = message_body(t, v)?;
            put_bytes(out, tag, &body);
        }
    }
    Ok(())
}

/// Encodes one side of a record. `unwrapped`: a single column written as its bare value.
/// `None` for an unwrapped NULL.
pub(super) fn encode(
    values: &[ScalarValue],
    columns: &[(String, SqlType)],
    unwrapped: bool,
) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    if unwrapped && columns.len() == 1 {
        let t = &columns[0].1;
        let Some(v) = values.first() else {
            return Ok(None);
        };
        if v.is_null() {
            return Ok(None);
        }
        match t {
            SqlType::Array(_) => return Err("Unsupported root schema of type ARRAY".into()),
            SqlType::Map(..) => return Err("Unsupported root schema of type MAP".into()),
            t if is_message(t) => out = message_body(t, v)?,
            t => put_field(&mut out, 1, t, v, false)?,
        }
        return Ok(Some(out));
    }
    for (i, ((_, t), v)) in columns.iter().zip(values).enumerate() {
        put_field(&mut out, i as u32 + 1, t, v, false)?;
    }
    Ok(Some(out))
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// A packable scalar from one raw occurrence (varint or fixed64).
fn scalar_from_wire(t: &SqlType, w: Wire<'_>) -> Option<ScalarValue> {
    Some(match (t, w) {
        (SqlType::Boolean, Wire::Varint(v)) => ScalarValue::Boolean(Some(v != 0)),
        (SqlType::Int, Wire::Varint(v)) => ScalarValue::Int32(Some(v as u32 as i32)),
        (SqlType::Bigint, Wire::Varint(v)) => ScalarValue::Int64(Some(v as i64)),
        (SqlType::Double, Wire::Fixed64(v)) => ScalarValue::Float64(Some(f64::from_bits(v))),
        _ => return None,
    })
}

/// The elements of a packed run.
fn unpack(t: &SqlType, bytes: &[u8], items: &mut Vec<ScalarValue>) -> Result<(), String> {
    let mut r = Reader::new(bytes);
    while r.pos < bytes.len() {
        let w = if *t == SqlType::Double {
            Wire::Fixed64(u64::from_le_bytes(
                r.take(8)?.try_into().map_err(|_| TRUNCATED)?,
            ))
        } else {
            Wire::Varint(r.varint()?)
        };
        items.extend(scalar_from_wire(t, w));
    }
    Ok(())
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "Protocol message had invalid UTF-8.".to_string())
}

/// The proto3 default of a scalar type.
fn default_of(t: &SqlType) -> ScalarValue {
    match t {
        SqlType::Boolean => ScalarValue::Boolean(Some(false)),
        SqlType::Int => ScalarValue::Int32(Some(0)),
        SqlType::Bigint => ScalarValue::Int64(Some(0)),
        SqlType::Double => ScalarValue::Float64(Some(0.0)),
        SqlType::String => ScalarValue::Utf8(Some(String::new())),
        SqlType::Bytes => ScalarValue::Binary(Some(Vec::new())),
        other => null_of(other),
    }
}

/// A field's value from its occurrences. `entry_value`: the value of a map entry, where an
/// absent message reads as the message's default instance rather than NULL.
fn field_value(occ: &[Wire<'_>], t: &SqlType, entry_value: bool) -> Result<ScalarValue, String> {
    match t {
        SqlType::Boolean | SqlType::Int | SqlType::Bigint | SqlType::Double => Ok(occ
            .iter()
            .rev()
            .find_map(|w| scalar_from_wire(t, *w))
            .unwrap_or_else(|| default_of(t))),
        SqlType::String => match last_len(occ) {
            Some(b) => Ok(ScalarValue::Utf8(Some(utf8(b)?))),
            None => Ok(default_of(t)),
        },
        SqlType::Bytes => Ok(ScalarValue::Binary(Some(
            last_len(occ).unwrap_or_default().to_vec(),
        ))),
        SqlType::Array(e) => {
            if matches!(**e, SqlType::Array(_) | SqlType::Map(..)) {
                return Err("Array cannot be nested".into());
            }
            let mut items = Vec::new();
            for w in occ {
                match (w, is_packable(e)) {
                    (Wire::Len(b), true) => unpack(e, b, &mut items)?,
                    (w, true) => items.extend(scalar_from_wire(e, *w)),
                    (Wire::Len(b), false) => items.push(element_value(e, b)?),
                    _ => {}
                }
            }
            list_value(e, items)
        }
        SqlType::Map(k, v) => {
            let mut entries: Vec<(ScalarValue, ScalarValue)> = Vec::new();
            for w in occ {
                let Wire::Len(b) = w else { continue };
                let fields = parse_message(b, 2)?;
                let key = field_value(&fields[0], k, false)?;
                let value = field_value(&fields[1], v, true)?;
                match entries.iter_mut().find(|(ek, _)| *ek == key) {
                    Some(slot) => slot.1 = value,
                    None => entries.push((key, value)),
                }
            }
            map_value(k, v, entries)
        }
        _ => match message_bytes(occ) {
            Some(b) => message_value(t, &b),
            None if entry_value => message_value(t, &[]),
            None => Ok(null_of(t)),
        },
    }
}

/// One element of a non-packed repeated field.
fn element_value(t: &SqlType, bytes: &[u8]) -> Result<ScalarValue, String> {
    match t {
        SqlType::String => Ok(ScalarValue::Utf8(Some(utf8(bytes)?))),
        SqlType::Bytes => Ok(ScalarValue::Binary(Some(bytes.to_vec()))),
        _ => message_value(t, bytes),
    }
}

/// A message-typed value (STRUCT, DECIMAL, DATE, TIME, TIMESTAMP) from its body.
fn message_value(t: &SqlType, body: &[u8]) -> Result<ScalarValue, String> {
    match t {
        SqlType::Struct(fields) => {
            let occ = parse_message(body, fields.len())?;
            let values = fields
                .iter()
                .zip(&occ)
                .map(|((_, ft), o)| field_value(o, ft, false))
                .collect::<Result<Vec<_>, _>>()?;
            struct_value(fields, values)
        }
        SqlType::Decimal(p, s) => {
            let occ = parse_message(body, 3)?;
            let unscaled = from_twos_complement(last_len(&occ[0]).unwrap_or_default())?;
            let scale = last_varint(&occ[2]).unwrap_or(0) as u32 as i32;
            let scale =
                i8::try_from(scale).map_err(|_| format!("Invalid decimal scale {scale}"))?;
            let text = crate::value::decimal_to_string(unscaled, scale);
            let v = parse_decimal(&text, *p, *s)
                .ok_or_else(|| format!("Cannot fit decimal '{text}' into DECIMAL({p}, {s})"))?;
            Ok(ScalarValue::Decimal128(Some(v), *p, *s))
        }
        SqlType::Date => {
            let occ = parse_message(body, 3)?;
            let get = |i: usize| last_varint(&occ[i]).unwrap_or(0) as u32 as i32;
            let (y, m, d) = (i64::from(get(0)), get(1), get(2));
            if y < 1 || !(1..=12).contains(&m) || d < 1 || d as u32 > days_in_month(y, m as u32) {
                return Err(format!("Invalid date: year {y}, month {m}, day {d}"));
            }
            let days = days_from_civil(y, m as u32, d as u32);
            Ok(ScalarValue::Date32(Some(
                i32::try_from(days).map_err(|_| "date out of range")?,
            )))
        }
        SqlType::Time => {
            let occ = parse_message(body, 4)?;
            let get = |i: usize| i64::from(last_varint(&occ[i]).unwrap_or(0) as u32 as i32);
            let (h, m, s, n) = (get(0), get(1), get(2), get(3));
            if !(0..24).contains(&h)
                || !(0..60).contains(&m)
                || !(0..60).contains(&s)
                || !(0..1_000_000_000).contains(&n)
            {
                return Err(format!(
                    "Invalid time: {h} hours, {m} minutes, {s} seconds, {n} nanos"
                ));
            }
            let ms = h * 3_600_000 + m * 60_000 + s * 1000 + n / 1_000_000;
            Ok(ScalarValue::Time32Millisecond(Some(ms as i32)))
        }
        SqlType::Timestamp => {
            let occ = parse_message(body, 2)?;
            let seconds = last_varint(&occ[0]).unwrap_or(0) as i64;
            let nanos = i64::from(last_varint(&occ[1]).unwrap_or(0) as u32 as i32);
            if !(-62_135_596_800..=253_402_300_799).contains(&seconds)
                || !(0..1_000_000_000).contains(&nanos)
            {
                return Err(format!(
                    "Timestamp is not valid: {seconds} seconds, {nanos} nanos"
                ));
            }
            Ok(ScalarValue::TimestampMillisecond(
                Some(seconds * 1000 + nanos / 1_000_000),
                None,
            ))
        }
        other => Err(format!("PROTOBUF_NOSR cannot read {other} as a message")),
    }
}

/// Decodes one side of a record into a value per column. `unwrapped`: a single column written as
/// its bare value.
pub(super) fn decode(
    bytes: &[u8],
    columns: &[(String, SqlType)],
    unwrapped: bool,
) -> Result<Vec<ScalarValue>, String> {
    if unwrapped && columns.len() == 1 {
        let t = &columns[0].1;
        return Ok(vec![match t {
            SqlType::Array(_) => return Err("Unsupported root schema of type ARRAY".into()),
            SqlType::Map(..) => return Err("Unsupported root schema of type MAP".into()),
            t if is_message(t) => message_value(t, bytes)?,
            t => field_value(&parse_message(bytes, 1)?[0], t, false)?,
        }]);
    }
    let occ = parse_message(bytes, columns.len())?;
    columns
        .iter()
        .zip(&occ)
        .map(|((_, t), o)| field_value(o, t, false))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{from_json, to_json};

    fn cols(spec: &[(&str, SqlType)]) -> Vec<(String, SqlType)> {
        spec.iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect()
    }

    fn values(json: &str, columns: &[(String, SqlType)]) -> Vec<ScalarValue> {
        let j: serde_json::Value = serde_json::from_str(json).unwrap();
        columns
            .iter()
            .map(|(n, t)| from_json(j.get(n).unwrap_or(&serde_json::Value::Null), t).unwrap())
            .collect()
    }

    fn round_trip(json: &str, columns: &[(String, SqlType)]) -> (Vec<u8>, serde_json::Value) {
        let bytes = encode(&values(json, columns), columns, false)
            .unwrap()
            .unwrap();
        let back = decode(&bytes, columns, false).unwrap();
        let obj = columns
            .iter()
            .zip(&back)
            .map(|((n, _), v)| (n.clone(), to_json(v)))
            .collect();
        (bytes, serde_json::Value::Object(obj))
    }

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn scalars_use_proto3_encodings() {
        let c = cols(&[
            ("I", SqlType::Int),
            ("L", SqlType::Bigint),
            ("D", SqlType::Double),
            ("B", SqlType::Boolean),
            ("S", SqlType::String),
        ]);
        let (bytes, back) = round_trip(r#"{"I":150,"L":1,"D":1.5,"B":true,"S":"hi"}"#, &c);
        assert_eq!(
            bytes,
            [
                0x08, 0x96, 0x01, // I = 150
                0x10, 0x01, // L = 1
                0x19, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // D = 1.5
                0x20, 0x01, // B = true
                0x2a, 0x02, b'h', b'i', // S = "hi"
            ]
        );
        assert_eq!(back, json(r#"{"I":150,"L":1,"D":1.5,"B":true,"S":"hi"}"#));
    }

    #[test]
    fn nulls_and_defaults_read_back_as_proto3_defaults() {
        let c = cols(&[
            ("I", SqlType::Int),
            ("L", SqlType::Bigint),
            ("D", SqlType::Double),
            ("B", SqlType::Boolean),
            ("S", SqlType::String),
            ("Y", SqlType::Bytes),
            ("A", SqlType::Array(Box::new(SqlType::Int))),
            (
                "M",
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)),
            ),
            ("T", SqlType::Struct(cols(&[("X", SqlType::Int)]))),
            ("DEC", SqlType::Decimal(4, 2)),
            ("TS", SqlType::Timestamp),
        ]);
        let (bytes, back) = round_trip(r#"{"I":null,"L":0,"D":null,"B":false,"S":null}"#, &c);
        assert!(bytes.is_empty());
        assert_eq!(
            back,
            json(
                r#"{"I":0,"L":0,"D":0.0,"B":false,"S":"","Y":"","A":[],"M":{},"T":null,"DEC":null,"TS":null}"#
            )
        );
    }

    #[test]
    fn negative_ints_are_sign_extended() {
        let c = cols(&[("I", SqlType::Int), ("L", SqlType::Bigint)]);
        let (bytes, back) = round_trip(r#"{"I":-1,"L":-2}"#, &c);
        assert_eq!(bytes.len(), 2 * 11);
        assert_eq!(
            &bytes[..11],
            &[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        assert_eq!(back, json(r#"{"I":-1,"L":-2}"#));
        // A reader may also see an int32 written as 32 bits only.
        assert_eq!(
            decode(&[0x08, 0xff, 0xff, 0xff, 0xff, 0x0f], &c, false).unwrap()[0],
            ScalarValue::Int32(Some(-1))
        );
    }

    #[test]
    fn nested_types_round_trip() {
        let inner = SqlType::Struct(cols(&[("A", SqlType::String), ("B", SqlType::Bigint)]));
        let c = cols(&[
            ("S", inner.clone()),
            ("AS", SqlType::Array(Box::new(inner))),
            ("AI", SqlType::Array(Box::new(SqlType::Int))),
            ("AT", SqlType::Array(Box::new(SqlType::String))),
            (
                "M",
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Timestamp)),
            ),
        ]);
        let text = r#"{"S":{"A":"x","B":null},"AS":[{"A":"r0","B":1},{"A":"","B":100}],
            "AI":[0,-5,300],"AT":["","b"],"M":{"k1":10,"k2":0}}"#;
        let (bytes, back) = round_trip(text, &c);
        assert_eq!(
            back,
            json(
                r#"{"S":{"A":"x","B":0},"AS":[{"A":"r0","B":1},{"A":"","B":100}],
                "AI":[0,-5,300],"AT":["","b"],"M":{"k1":10,"k2":0}}"#
            )
        );
        // The INT array is packed: one length-delimited field 3.
        let fields = parse_message(&bytes, 5).unwrap();
        assert_eq!(fields[2].len(), 1);
        assert!(matches!(fields[2][0], Wire::Len(_)));
        // Unpacked numbers are read too.
        let c1 = cols(&[("AI", SqlType::Array(Box::new(SqlType::Int)))]);
        assert_eq!(
            to_json(&decode(&[0x08, 0x01, 0x08, 0x02], &c1, false).unwrap()[0]),
            json("[1,2]")
        );
    }

    #[test]
    fn map_entries_without_value_read_defaults() {
        let c = cols(&[(
            "M",
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)),
        )]);
        let (_, back) = round_trip(r#"{"M":{"a":null,"b":2}}"#, &c);
        assert_eq!(back, json(r#"{"M":{"a":0,"b":2}}"#));
    }

    #[test]
    fn decimals_are_confluent_decimal_messages() {
        let c = cols(&[("D", SqlType::Decimal(6, 4))]);
        let v = vec![ScalarValue::Decimal128(Some(-100_000), 6, 4)];
        let bytes = encode(&v, &c, false).unwrap().unwrap();
        // field 1, length 7: value 0xfe 0x79 0x60 (-100000), precision 6, scale 4.
        assert_eq!(
            bytes,
            [0x0a, 0x09, 0x0a, 0x03, 0xfe, 0x79, 0x60, 0x10, 0x06, 0x18, 0x04]
        );
        assert_eq!(decode(&bytes, &c, false).unwrap(), v);
        let (_, back) = round_trip(r#"{"D":10.0}"#, &c);
        assert_eq!(back.to_string(), r#"{"D":10.0}"#);
        // A writer's scale is rescaled to the column's.
        let body = [0x0a, 0x01, 0x64, 0x10, 0x03, 0x18, 0x01]; // 10.0
        let mut msg = vec![0x0a, body.len() as u8];
        msg.extend_from_slice(&body);
        assert_eq!(
            decode(&msg, &c, false).unwrap(),
            vec![ScalarValue::Decimal128(Some(100_000), 6, 4)]
        );
        let wide = cols(&[("D", SqlType::Decimal(21, 19))]);
        let (_, back) = round_trip(r#"{"D":10.123451234512345}"#, &wide);
        assert_eq!(back.to_string(), r#"{"D":10.123451234512345}"#);
        assert_eq!(twos_complement(0), [0]);
        assert_eq!(twos_complement(128), [0, 0x80]);
        assert_eq!(twos_complement(-129), [0xff, 0x7f]);
        assert_eq!(from_twos_complement(&[0xff, 0x7f]).unwrap(), -129);
    }

    #[test]
    fn dates_times_and_timestamps_round_trip() {
        let c = cols(&[
            ("D", SqlType::Date),
            ("T", SqlType::Time),
            ("TS", SqlType::Timestamp),
        ]);
        let (bytes, back) = round_trip(r#"{"D":19000,"T":3723004,"TS":-1500}"#, &c);
        assert_eq!(back, json(r#"{"D":19000,"T":3723004,"TS":-1500}"#));
        let fields = parse_message(&bytes, 3).unwrap();
        let Wire::Len(date) = fields[0][0] else {
            panic!()
        };
        // 2022-01-08
        assert_eq!(date, [0x08, 0xe6, 0x0f, 0x10, 0x01, 0x18, 0x08]);
        let Wire::Len(time) = fields[1][0] else {
            panic!()
        };
        // 01:02:03.004
        assert_eq!(
            time,
            [0x08, 0x01, 0x10, 0x02, 0x18, 0x03, 0x20, 0x80, 0x92, 0xf4, 0x01]
        );
        for days in [-719_162, -1, 0, 59, 365, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn single_values_use_wrapper_messages() {
        let c = cols(&[("K", SqlType::String)]);
        let v = vec![ScalarValue::Utf8(Some("a".into()))];
        let bytes = encode(&v, &c, true).unwrap().unwrap();
        assert_eq!(bytes, [0x0a, 0x01, b'a']);
        assert_eq!(decode(&bytes, &c, true).unwrap(), v);
        assert_eq!(
            encode(&[null_of(&SqlType::String)], &c, true).unwrap(),
            None
        );
        let s = cols(&[("S", SqlType::Struct(cols(&[("X", SqlType::Int)])))]);
        let sv = values(r#"{"S":{"X":1}}"#, &s);
        let bytes = encode(&sv, &s, true).unwrap().unwrap();
        assert_eq!(bytes, [0x08, 0x01]);
        assert_eq!(decode(&bytes, &s, true).unwrap(), sv);
    }

    #[test]
    fn unknown_fields_and_bad_input() {
        let c = cols(&[("I", SqlType::Int)]);
        // Field 2 is unknown; field 1 with the wrong wire type is ignored.
        assert_eq!(
            decode(&[0x10, 0x05, 0x0a, 0x00, 0x08, 0x07], &c, false).unwrap(),
            vec![ScalarValue::Int32(Some(7))]
        );
        assert!(decode(&[0x08], &c, false).is_err());
        assert!(decode(&[0x00, 0x01], &c, false).is_err());
        let a = cols(&[("A", SqlType::Array(Box::new(SqlType::Int)))]);
        let with_null = values(r#"{"A":[1,null]}"#, &a);
        assert!(encode(&with_null, &a, false).is_err());
    }
}
