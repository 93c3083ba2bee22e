//! DELIMITED: one CSV line per record (Commons CSV's default dialect with a configurable
//! delimiter): an empty field is NULL, fields holding the delimiter, quotes or line breaks are
//! quoted.

use base64::Engine as _;
use datafusion::common::ScalarValue;

use crate::types::SqlType;
use crate::value::{null_of, parse_decimal, to_text};

/// Splits one CSV line into fields; `None` stands for an empty unquoted field.
fn split(line: &str, delimiter: char) -> Result<Vec<Option<String>>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("EOF reached before encapsulated token finished".into()),
                }
            }
            match chars.peek() {
                None => {}
                Some(c) if *c == delimiter => {}
                Some(c) => {
                    return Err(format!(
                        "invalid char between encapsulated token and delimiter: '{c}'"
                    ))
                }
            }
        }
        while let Some(&c) = chars.peek() {
            if c == delimiter {
                break;
            }
            field.push(c);
            chars.next();
        }
        fields.push(if field.is_empty() && !quoted {
            None
        } else {
            Some(field)
        });
        match chars.next() {
            Some(_) => continue,
            None => break,
        }
    }
    Ok(fields)
}

fn parse_field(text: &str, t: &SqlType) -> Result<ScalarValue, String> {
    let bad = || format!("Could not parse '{text}' as {t}");
    Ok(match t {
        SqlType::Boolean => ScalarValue::Boolean(Some(text.trim().eq_ignore_ascii_case("true"))),
        SqlType::Int => ScalarValue::Int32(Some(text.trim().parse().map_err(|_| bad())?)),
        SqlType::Bigint => ScalarValue::Int64(Some(text.trim().parse().map_err(|_| bad())?)),
        SqlType::Double => ScalarValue::Float64(Some(text.trim().parse().map_err(|_| bad())?)),
        SqlType::Decimal(p, s) => {
            ScalarValue::Decimal128(Some(parse_decimal(text, *p, *s).ok_or_else(bad)?), *p, *s)
        }
        SqlType::String => ScalarValue::Utf8(Some(text.to_string())),
        SqlType::Bytes => ScalarValue::Binary(Some(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| bad())?,
        )),
        SqlType::Date => ScalarValue::Date32(Some(text.trim().parse().map_err(|_| bad())?)),
        SqlType::Time => {
            ScalarValue::Time32Millisecond(Some(text.trim().parse().map_err(|_| bad())?))
        }
        SqlType::Timestamp => {
            ScalarValue::TimestampMillisecond(Some(text.trim().parse().map_err(|_| bad())?), None)
        }
        _ => {
            return Err(format!(
                "The 'DELIMITED' format does not support type '{t}'"
            ))
        }
    })
}

pub(super) fn decode(
    bytes: &[u8],
    columns: &[(String, SqlType)],
    delimiter: char,
) -> Result<Vec<ScalarValue>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("invalid UTF-8: {e}"))?;
    let text = text.trim_end_matches(['\r', '\n']);
    let fields = split(text, delimiter)?;
    if fields.len() != columns.len() {
        return Err(format!(
            "Unexpected field count, csvFields:{} schemaFields:{}",
            fields.len(),
            columns.len()
        ));
    }
    fields
        .iter()
        .zip(columns)
        .map(|(f, (_, t))| match f {
            None => Ok(null_of(t)),
            Some(s) => parse_field(s, t),
        })
        .collect()
}

/// Whether Commons CSV (QuoteMode.MINIMAL) quotes this field.
fn needs_quotes(s: &str, delimiter: char, first: bool) -> bool {
    let Some(c0) = s.chars().next() else {
        return first;
    };
    if first && !c0.is_ascii_alphanumeric() {
        return true;
    }
    if s.chars()
        .any(|c| c == delimiter || c == '"' || c == '\n' || c == '\r')
    {
        return true;
    }
    s.chars().last().is_some_and(|c| (c as u32) <= 0x20)
}

pub(super) fn encode(values: &[ScalarValue], delimiter: char) -> Option<Vec<u8>> {
    if values.is_empty() {
        return Some(Vec::new());
    }
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        if let Some(s) = to_text(v) {
            if needs_quotes(&s, delimiter, i == 0) {
                out.push('"');
                out.push_str(&s.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(&s);
            }
        }
    }
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_fields() {
        assert_eq!(
            split("1,\"a,b\",,\"x\"\"y\"", ',').unwrap(),
            vec![
                Some("1".into()),
                Some("a,b".into()),
                None,
                Some("x\"y".into())
            ]
        );
        assert_eq!(split("", ',').unwrap(), vec![None]);
    }
}
