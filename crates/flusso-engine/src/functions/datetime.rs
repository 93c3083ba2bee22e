//! Date and time functions. Java `DateTimeFormatter` patterns are translated to chrono
//! formats; time zones are limited to UTC and fixed offsets (`+05:30`, `GMT-3`).

use chrono::format::{parse, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, Volatility};

use super::udf::{i, row_expr, s, type_name, utf8, Call, Kind};

pub(crate) const NAMES: &[&str] = &[
    "CONVERT_TZ",
    "DATEADD",
    "DATESUB",
    "DATETOSTRING",
    "FORMAT_DATE",
    "FORMAT_TIME",
    "FORMAT_TIMESTAMP",
    "FROM_DAYS",
    "FROM_UNIXTIME",
    "PARSE_DATE",
    "PARSE_TIME",
    "PARSE_TIMESTAMP",
    "STRINGTODATE",
    "STRINGTOTIMESTAMP",
    "TIMEADD",
    "TIMESTAMPADD",
    "TIMESTAMPSUB",
    "TIMESTAMPTOSTRING",
    "TIMESUB",
    "UNIX_DATE",
    "UNIX_TIMESTAMP",
];

const TS: DataType = DataType::Timestamp(TimeUnit::Millisecond, None);
const TIME: DataType = DataType::Time32(TimeUnit::Millisecond);
const EPOCH_DAYS_CE: i32 = 719_163;

/// A Java date-time pattern as a chrono format string.
pub(crate) fn java_to_chrono(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::new();
    let mut k = 0;
    while k < chars.len() {
        let ch = chars[k];
        if ch == '\'' {
            k += 1;
            if k < chars.len() && chars[k] == '\'' {
                out.push('\'');
                k += 1;
                continue;
            }
            while k < chars.len() {
                if chars[k] == '\'' {
                    if k + 1 < chars.len() && chars[k + 1] == '\'' {
                        out.push('\'');
                        k += 2;
                        continue;
                    }
                    break;
                }
                if chars[k] == '%' {
                    out.push_str("%%");
                } else {
                    out.push(chars[k]);
                }
                k += 1;
            }
            k += 1;
            continue;
        }
        let mut run = 1;
        while k + run < chars.len() && chars[k + run] == ch {
            run += 1;
        }
        let piece = match (ch, run) {
            ('y' | 'u', 2) => "%y".to_string(),
            ('y' | 'u', _) => "%Y".to_string(),
            ('M' | 'L', 1) => "%-m".to_string(),
            ('M' | 'L', 2) => "%m".to_string(),
            ('M' | 'L', 3) => "%b".to_string(),
            ('M' | 'L', _) => "%B".to_string(),
            ('d', 1) => "%-d".to_string(),
            ('d', _) => "%d".to_string(),
            ('D', _) => "%j".to_string(),
            ('H', 1) => "%-H".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', 1) => "%-I".to_string(),
            ('h', _) => "%I".to_string(),
            ('m', 1) => "%-M".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', 1) => "%-S".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', n) if n <= 3 => "%3f".to_string(),
            ('S', n) if n <= 6 => "%6f".to_string(),
            ('S', _) => "%9f".to_string(),
            ('a', _) => "%p".to_string(),
            ('E', n) if n <= 3 => "%a".to_string(),
            ('E', _) => "%A".to_string(),
            ('X' | 'x', 1) => "%z".to_string(),
            ('X' | 'x', _) => "%:z".to_string(),
            ('Z', _) => "%z".to_string(),
            ('z' | 'V', _) => "%Z".to_string(),
            ('%', n) => "%%".repeat(n),
            (c, n) => c.to_string().repeat(n),
        };
        out.push_str(&piece);
        k += run;
    }
    out
}

/// A zone id as a fixed offset in seconds: UTC, GMT, Z, `+hh:mm`, `UTC+h`, `GMT-hh:mm`.
fn zone_offset(z: &str) -> Option<i32> {
    let z = z.trim();
    let rest = ["UTC", "GMT", "UT", "Z"]
        .iter()
        .find_map(|p| z.strip_prefix(p))
        .unwrap_or(z);
    if rest.is_empty() {
        return Some(0);
    }
    let (sign, body) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (h, m) = match body.split_once(':') {
        Some((h, m)) => (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?),
        None if body.len() == 4 => (body[..2].parse().ok()?, body[2..].parse().ok()?),
        None => (body.parse().ok()?, 0),
    };
    Some(sign * (h * 3600 + m * 60))
}

fn zone_arg(a: &[ScalarValue], k: usize) -> Result<i32, String> {
    match a.get(k) {
        None => Ok(0),
        Some(v) => zone_offset(s(v).ok_or("null zone")?).ok_or_else(|| "Unknown time-zone".into()),
    }
}

/// Parses text with a Java pattern; missing date parts default to 1970-01-01, time to 0.
fn parse_datetime(text: &str, pattern: &str) -> Result<(NaiveDateTime, i32), String> {
    parse_datetime_with(text, pattern, false)
}

/// Like [`parse_datetime`]; with `prefix`, text after the pattern is ignored (PARSE_DATE reads
/// `2003-12-24-01-01` with `yyyy-MM-dd` as ksqlDB does).
fn parse_datetime_with(
    text: &str,
    pattern: &str,
    prefix: bool,
) -> Result<(NaiveDateTime, i32), String> {
    let fmt = java_to_chrono(pattern);
    let mut p = Parsed::new();
    let parsed = if prefix {
        chrono::format::parse_and_remainder(&mut p, text, StrftimeItems::new(&fmt)).map(|_| ())
    } else {
        parse(&mut p, text, StrftimeItems::new(&fmt))
    };
    parsed.map_err(|e| {
        format!("Failed to parse timestamp '{text}' with formatter '{pattern}': {e}")
    })?;
    let fix = |r: chrono::format::ParseResult<()>| r.map_err(|e| e.to_string());
    if p.year().is_none() && p.timestamp().is_none() {
        fix(p.set_year(1970))?;
    }
    if p.month().is_none() {
        fix(p.set_month(1))?;
    }
    if p.day().is_none() {
        fix(p.set_day(1))?;
    }
    if p.hour_div_12().is_none() {
        fix(p.set_hour(p.hour_mod_12().map_or(0, |h| h as i64)))?;
    }
    if p.minute().is_none() {
        fix(p.set_minute(0))?;
    }
    let date = p.to_naive_date().map_err(|e| e.to_string())?;
    let time = p.to_naive_time().map_err(|e| e.to_string())?;
    Ok((date.and_time(time), p.offset().unwrap_or(0)))
}

fn millis_of(dt: NaiveDateTime) -> i64 {
    dt.and_utc().timestamp_millis()
}

fn format_millis(ms: i64, pattern: &str, offset: i32) -> Result<String, String> {
    let dt = DateTime::from_timestamp_millis(ms).ok_or("out of range")?;
    let tz = chrono::FixedOffset::east_opt(offset).ok_or("bad offset")?;
    let fmt = java_to_chrono(pattern);
    let mut out = String::new();
    use std::fmt::Write;
    write!(out, "{}", dt.with_timezone(&tz).format(&fmt)).map_err(|_| "bad format".to_string())?;
    Ok(out)
}

fn date_of(days: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(EPOCH_DAYS_CE.checked_add(i32::try_from(days).ok()?)?)
}

/// Milliseconds in one unit (`DAYS`, `HOURS`, ...).
fn unit_millis(u: &str) -> Option<i64> {
    Some(match u.trim().to_uppercase().trim_end_matches('S') {
        "MILLISECOND" => 1,
        "SECOND" => 1000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => 86_400_000,
        _ => return None,
    })
}

fn ts(ms: i64) -> ScalarValue {
    ScalarValue::TimestampMillisecond(Some(ms), None)
}

/// DATEADD/TIMEADD/TIMESTAMPADD and their SUB twins: (unit, interval, value).
fn add(name: &str, c: &Call) -> Result<Expr, String> {
    let (kind, ret) = match &name[..4] {
        "DATE" => (Kind::Date, DataType::Date32),
        "TIME" if name.starts_with("TIMESTAMP") => (Kind::Timestamp, TS),
        _ => (Kind::Time, TIME),
    };
    if !(c.len() == 3 && c.is(0, Kind::Str) && c.is(1, Kind::Integral) && c.is(2, kind)) {
        let list = c.types.iter().skip(1).map(type_name).collect::<Vec<_>>();
        return Err(format!(
            "Function '{}' does not accept parameters ({}).",
            name.to_lowercase(),
            list.join(", ")
        ));
    }
    let sign = if name.ends_with("SUB") { -1 } else { 1 };
    c.lenient(ret, move |a| {
        let unit = unit_millis(s(&a[0]).ok_or("unit")?).ok_or("unknown unit")?;
        let (Some(n), Some(v)) = (i(&a[1]), i(&a[2])) else {
            return Ok(ScalarValue::Null);
        };
        let delta = n.checked_mul(unit).ok_or("overflow")? * sign;
        Ok(match kind {
            Kind::Date => {
                if unit < 86_400_000 {
                    return Err("DATEADD requires a unit of at least DAYS".into());
                }
                ScalarValue::Date32(Some((v + delta / 86_400_000) as i32))
            }
            Kind::Time => {
                ScalarValue::Time32Millisecond(Some((v + delta).rem_euclid(86_400_000) as i32))
            }
            _ => ts(v + delta),
        })
    })
}

pub(crate) fn build(name: &str, c: &Call) -> Option<Result<Expr, String>> {
    use Kind::*;
    let n = c.len();
    let st = DataType::Utf8;
    let tz_ok = |k: usize| n == k || (n == k + 1 && c.is(k, Str));
    Some(match name {
        "UNIX_TIMESTAMP" if n == 0 => Ok(row_expr(
            name,
            vec![],
            DataType::Int64,
            false,
            Volatility::Volatile,
            |_| {
                Ok(ScalarValue::Int64(Some(
                    chrono::Utc::now().timestamp_millis(),
                )))
            },
        )),
        "UNIX_TIMESTAMP" if c.all(&[Timestamp]) => {
            c.strict(DataType::Int64, |a| Ok(ScalarValue::Int64(i(&a[0]))))
        }
        "UNIX_DATE" if n == 0 => Ok(row_expr(
            name,
            vec![],
            DataType::Int32,
            false,
            Volatility::Volatile,
            |_| {
                Ok(ScalarValue::Int32(Some(
                    chrono::Utc::now().date_naive().num_days_from_ce() - EPOCH_DAYS_CE,
                )))
            },
        )),
        "UNIX_DATE" if c.all(&[Date]) => c.strict(DataType::Int32, |a| {
            Ok(ScalarValue::Int32(i(&a[0]).map(|d| d as i32)))
        }),
        "FROM_UNIXTIME" if c.all(&[Integral]) => c.strict(TS, |a| Ok(ts(i(&a[0]).ok_or("null")?))),
        "FROM_DAYS" if c.all(&[Integral]) => c.strict(DataType::Date32, |a| {
            Ok(ScalarValue::Date32(Some(i(&a[0]).ok_or("null")? as i32)))
        }),
        "TIMESTAMPTOSTRING" | "FORMAT_TIMESTAMP"
            if n >= 2
                && c.is(
                    0,
                    if name == "FORMAT_TIMESTAMP" {
                        Timestamp
                    } else {
                        Integral
                    },
                )
                && c.is(1, Str)
                && tz_ok(2) =>
        {
            c.strict(st, |a| {
                let off = zone_arg(a, 2)?;
                Ok(utf8(format_millis(
                    i(&a[0]).ok_or("null")?,
                    s(&a[1]).ok_or("null")?,
                    off,
                )?))
            })
        }
        "STRINGTOTIMESTAMP" | "PARSE_TIMESTAMP"
            if n >= 2 && c.is(0, Str) && c.is(1, Str) && tz_ok(2) =>
        {
            let ret = if name == "PARSE_TIMESTAMP" {
                TS
            } else {
                DataType::Int64
            };
            let stamp = name == "PARSE_TIMESTAMP";
            c.strict(ret, move |a| {
                let (dt, parsed_off) =
                    parse_datetime(s(&a[0]).unwrap_or_default(), s(&a[1]).unwrap_or_default())?;
                let off = if a.len() > 2 {
                    zone_arg(a, 2)?
                } else {
                    parsed_off
                };
                let ms = millis_of(dt) - off as i64 * 1000;
                Ok(if stamp {
                    ts(ms)
                } else {
                    ScalarValue::Int64(Some(ms))
                })
            })
        }
        "FORMAT_DATE" | "DATETOSTRING"
            if c.all(&[if name == "FORMAT_DATE" { Date } else { Int }, Str]) =>
        {
            c.strict(st, |a| {
                let d = date_of(i(&a[0]).ok_or("null")?).ok_or("out of range")?;
                let fmt = java_to_chrono(s(&a[1]).unwrap_or_default());
                Ok(utf8(d.and_time(NaiveTime::MIN).format(&fmt).to_string()))
            })
        }
        "PARSE_DATE" | "STRINGTODATE" if c.all(&[Str, Str]) => {
            let date = name == "PARSE_DATE";
            c.strict(
                if date {
                    DataType::Date32
                } else {
                    DataType::Int32
                },
                move |a| {
                    let (dt, _) = parse_datetime_with(
                        s(&a[0]).unwrap_or_default(),
                        s(&a[1]).unwrap_or_default(),
                        date,
                    )?;
                    let days = dt.date().num_days_from_ce() - EPOCH_DAYS_CE;
                    Ok(if date {
                        ScalarValue::Date32(Some(days))
                    } else {
                        ScalarValue::Int32(Some(days))
                    })
                },
            )
        }
        "FORMAT_TIME" if c.all(&[Time, Str]) => c.strict(st, |a| {
            let ms = i(&a[0]).ok_or("null")?;
            let t = NaiveTime::from_num_seconds_from_midnight_opt(
                (ms / 1000) as u32,
                ((ms % 1000) * 1_000_000) as u32,
            )
            .ok_or("out of range")?;
            let fmt = java_to_chrono(s(&a[1]).unwrap_or_default());
            Ok(utf8(NaiveDate::MIN.and_time(t).format(&fmt).to_string()))
        }),
        "PARSE_TIME" if c.all(&[Str, Str]) => c.strict(TIME, |a| {
            let (dt, _) =
                parse_datetime(s(&a[0]).unwrap_or_default(), s(&a[1]).unwrap_or_default())?;
            let t = dt.time();
            let ms =
                t.num_seconds_from_midnight() as i64 * 1000 + (t.nanosecond() / 1_000_000) as i64;
            Ok(ScalarValue::Time32Millisecond(Some(ms as i32)))
        }),
        "CONVERT_TZ" if c.all(&[Timestamp, Str, Str]) => c.strict(TS, |a| {
            let from = zone_arg(a, 1)?;
            let to = zone_arg(a, 2)?;
            Ok(ts(i(&a[0]).ok_or("null")? + (to - from) as i64 * 1000))
        }),
        "DATEADD" | "DATESUB" | "TIMEADD" | "TIMESUB" | "TIMESTAMPADD" | "TIMESTAMPSUB" => {
            add(name, c)
        }
        _ if NAMES.contains(&name) => c.bad(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(
            java_to_chrono("yyyy-MM-dd'T'HH:mm:ss.SSS"),
            "%Y-%m-%dT%H:%M:%S%.3f".replace("%.3f", ".%3f")
        );
        let (dt, off) =
            parse_datetime("2019-05-01 10:11:12.345", "yyyy-MM-dd HH:mm:ss.SSS").unwrap();
        assert_eq!(off, 0);
        assert_eq!(millis_of(dt), 1_556_705_472_345);
        let (dt, _) = parse_datetime("2022-06-14", "yyyy-MM-dd").unwrap();
        assert_eq!(dt.date().num_days_from_ce() - EPOCH_DAYS_CE, 19157);
        assert_eq!(
            format_millis(60_220_000_000, "yyyy-MM-dd'T'HH:mm:ss.SSS", 0).unwrap(),
            "1971-11-28T23:46:40.000"
        );
        assert_eq!(zone_offset("+05:30"), Some(19800));
        assert_eq!(zone_offset("UTC"), Some(0));
    }
}
