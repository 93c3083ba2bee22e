//! Regular expressions, masking, encodings and URL functions.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{ColumnarValue, Expr};
use regex::Regex;

use super::udf::{b, constant, i, list_of, map_strings, s, str_column, utf8, Call, Kind};
use crate::types::SqlType;
use crate::value::list_value;

pub(crate) const NAMES: &[&str] = &[
    "ENCODE",
    "FROM_BYTES",
    "MASK",
    "MASK_KEEP_LEFT",
    "MASK_KEEP_RIGHT",
    "MASK_LEFT",
    "MASK_RIGHT",
    "REGEXP_EXTRACT",
    "REGEXP_EXTRACT_ALL",
    "REGEXP_REPLACE",
    "REGEXP_SPLIT_TO_ARRAY",
    "TO_BYTES",
    "URL_DECODE_PARAM",
    "URL_ENCODE_PARAM",
    "URL_EXTRACT_FRAGMENT",
    "URL_EXTRACT_HOST",
    "URL_EXTRACT_PARAMETER",
    "URL_EXTRACT_PATH",
    "URL_EXTRACT_PORT",
    "URL_EXTRACT_PROTOCOL",
    "URL_EXTRACT_QUERY",
];

/// Compiles a pattern, reusing the last one (patterns are usually literals). The regex is
/// shared, not cloned: a cloned `Regex` starts with an empty search cache, which every search
/// on a fresh clone has to build again.
struct RegexCache(Mutex<Option<(String, Arc<Regex>)>>);

impl RegexCache {
    fn new() -> Self {
        RegexCache(Mutex::new(None))
    }
    fn get(&self, pattern: &str) -> Result<Arc<Regex>, String> {
        let mut slot = self.0.lock().map_err(|e| e.to_string())?;
        if let Some((p, r)) = slot.as_ref() {
            if p == pattern {
                return Ok(Arc::clone(r));
            }
        }
        let r = Arc::new(
            Regex::new(pattern)
                .map_err(|_| format!("Invalid regular expression pattern: {pattern}"))?,
        );
        *slot = Some((pattern.to_string(), Arc::clone(&r)));
        Ok(r)
    }
}

/// Java's replacement string (`$1`, `\$`) in the regex crate's syntax (`${1}`, `$$`).
fn java_replacement(r: &str) -> String {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(c) => out.push(c),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                out.push_str(&format!("${{{digits}}}"));
            }
            c => out.push(c),
        }
    }
    out
}

const NO_MASK: Option<char> = None;

#[derive(Clone, Copy)]
struct Masker {
    upper: Option<char>,
    lower: Option<char>,
    digit: Option<char>,
    other: Option<char>,
}

impl Masker {
    fn mask(&self, c: char) -> char {
        let m = if c.is_uppercase() {
            self.upper
        } else if c.is_lowercase() {
            self.lower
        } else if c.is_numeric() {
            self.digit
        } else {
            self.other
        };
        m.unwrap_or(c)
    }
}

fn mask_char(v: &ScalarValue) -> Result<Option<char>, String> {
    match s(v) {
        None => Ok(NO_MASK),
        Some(m) => {
            let mut it = m.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => Ok(Some(c)),
                _ => Err("Invalid mask character".into()),
            }
        }
    }
}

fn hex_decode(x: &str) -> Result<Vec<u8>, String> {
    let x = x.as_bytes();
    if !x.len().is_multiple_of(2) {
        return Err("Odd number of characters".into());
    }
    x.chunks(2)
        .map(|p| {
            let h = std::str::from_utf8(p).map_err(|e| e.to_string())?;
            u8::from_str_radix(h, 16).map_err(|e| e.to_string())
        })
        .collect()
}

fn hex_encode(x: &[u8]) -> String {
    x.iter().map(|b| format!("{b:02x}")).collect()
}

/// ENCODE's hex input: strips `0x` (padding odd lengths) and `X'..'`.
fn hex_strip(x: &str) -> String {
    if let Some(rest) = x.strip_prefix("0x") {
        if !x.len().is_multiple_of(2) {
            return format!("0{rest}");
        }
        return rest.to_string();
    }
    if (x.starts_with("x'") || x.starts_with("X'")) && x.len() >= 3 && x.ends_with('\'') {
        return x[2..x.len() - 1].to_string();
    }
    x.to_string()
}

fn decode_as(x: &str, enc: &str) -> Result<Vec<u8>, String> {
    match enc {
        "hex" => hex_decode(x),
        "utf8" => Ok(x.as_bytes().to_vec()),
        "ascii" => Ok(x
            .chars()
            .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
            .collect()),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(x)
            .map_err(|e| e.to_string()),
        _ => Err(format!("Unknown encoding {enc}")),
    }
}

fn encode_as(x: &[u8], enc: &str) -> Result<String, String> {
    match enc {
        "hex" => Ok(hex_encode(x)),
        "utf8" => Ok(String::from_utf8_lossy(x).into_owned()),
        "ascii" => Ok(x
            .iter()
            .map(|b| if b.is_ascii() { *b as char } else { '\u{FFFD}' })
            .collect()),
        "base64" => Ok(base64::engine::general_purpose::STANDARD.encode(x)),
        _ => Err(format!("Unknown encoding {enc}")),
    }
}

/// Percent-decoding as Java's URI getters do (`+` stays).
fn percent_decode(x: &str, plus_is_space: bool) -> Result<String, String> {
    let bytes = x.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut k = 0;
    while k < bytes.len() {
        match bytes[k] {
            b'%' => {
                let h = x.get(k + 1..k + 3).ok_or("bad escape")?;
                out.push(u8::from_str_radix(h, 16).map_err(|e| e.to_string())?);
                k += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                k += 1;
            }
            c => {
                out.push(c);
                k += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// Java's `URLEncoder.encode(x, UTF-8)`.
fn url_encode(x: &str) -> String {
    let mut out = String::new();
    for b in x.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The parts of a URI as `java.net.URI` splits them (raw, not decoded).
#[derive(Default, Debug)]
struct Uri<'a> {
    scheme: Option<&'a str>,
    host: Option<&'a str>,
    port: Option<i32>,
    path: Option<&'a str>,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn parse_uri(x: &str) -> Result<Uri<'_>, String> {
    if x.contains(' ') {
        return Err(format!("URL input has invalid syntax: {x}"));
    }
    let mut u = Uri::default();
    let mut rest = x;
    if let Some((r, frag)) = rest.split_once('#') {
        u.fragment = Some(frag);
        rest = r;
    }
    let scheme_end = rest.find(':').filter(|&p| {
        p > 0
            && rest[..p]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if let Some(p) = scheme_end {
        u.scheme = Some(&rest[..p]);
        rest = &rest[p + 1..];
    }
    if let Some((r, q)) = rest.split_once('?') {
        u.query = Some(q);
        rest = r;
    }
    if let Some(after) = rest.strip_prefix("//") {
        let (authority, path) = match after.find('/') {
            Some(p) => (&after[..p], &after[p..]),
            None => (after, ""),
        };
        u.path = Some(path);
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        match hostport.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !h.ends_with(']') || !p.is_empty() => {
                u.host = Some(h).filter(|h| !h.is_empty());
                if !p.is_empty() {
                    u.port = Some(
                        p.parse()
                            .map_err(|_| format!("URL input has invalid syntax: {x}"))?,
                    );
                }
            }
            _ => u.host = Some(hostport).filter(|h| !h.is_empty()),
        }
    } else if u.scheme.is_none() {
        u.path = Some(rest);
    }
    Ok(u)
}

pub(crate) fn build(name: &str, c: &Call) -> Option<Result<Expr, String>> {
    use Kind::*;
    let n = c.len();
    let st = DataType::Utf8;
    Some(match name {
        "REGEXP_EXTRACT" | "REGEXP_EXTRACT_ALL"
            if (n == 2 || n == 3)
                && c.is(0, Str)
                && c.is(1, Str)
                && c.is(n - 1, if n == 3 { Int } else { Str }) =>
        {
            let cache = RegexCache::new();
            let all = name == "REGEXP_EXTRACT_ALL";
            let ret = if all {
                list_of(DataType::Utf8)
            } else {
                DataType::Utf8
            };
            let cache = Arc::new(cache);
            let shared = Arc::clone(&cache);
            let columns = move |args: &[ColumnarValue]| {
                // REGEXP_EXTRACT of a column with a constant pattern and group.
                if all {
                    return None;
                }
                let re = shared.get(s(constant(args, 0)?)?).ok()?;
                let input = str_column(args, 1)?;
                let group = match args.len() {
                    3 => i(constant(args, 2)?)?,
                    _ => 0,
                };
                if group < 0 || group as usize >= re.captures_len() {
                    return None;
                }
                let g = group as usize;
                let mut locs = re.capture_locations();
                Some(Ok(map_strings(input, |v, out| {
                    match re.captures_read(&mut locs, v).and_then(|_| locs.get(g)) {
                        Some((from, to)) => {
                            out.push_str(&v[from..to]);
                            true
                        }
                        None => false,
                    }
                })))
            };
            c.strict_columns(
                ret,
                move |a| {
                    let re = cache.get(s(&a[0]).unwrap_or_default())?;
                    let input = s(&a[1]).unwrap_or_default();
                    let group = a.get(2).map_or(Some(0), i).ok_or("null group")?;
                    if group < 0 || group as usize >= re.captures_len() {
                        return Ok(ScalarValue::Null);
                    }
                    let g = group as usize;
                    if all {
                        let items = re
                            .captures_iter(input)
                            .map(|cap| {
                                cap.get(g)
                                    .map_or(ScalarValue::Utf8(None), |m| utf8(m.as_str()))
                            })
                            .collect();
                        list_value(&SqlType::String, items)
                    } else {
                        Ok(re
                            .captures(input)
                            .and_then(|cap| cap.get(g))
                            .map_or(ScalarValue::Null, |m| utf8(m.as_str())))
                    }
                },
                columns,
            )
        }
        "REGEXP_REPLACE" if c.all(&[Str, Str, Str]) => {
            let cache = RegexCache::new();
            c.strict(st, move |a| {
                let re = cache.get(s(&a[1]).unwrap_or_default())?;
                let rep = java_replacement(s(&a[2]).unwrap_or_default());
                Ok(utf8(
                    re.replace_all(s(&a[0]).unwrap_or_default(), rep.as_str()),
                ))
            })
        }
        "REGEXP_SPLIT_TO_ARRAY" if c.all(&[Str, Str]) => {
            let cache = RegexCache::new();
            c.strict(list_of(DataType::Utf8), move |a| {
                let pattern = s(&a[1]).unwrap_or_default();
                let input = s(&a[0]).unwrap_or_default();
                let re = cache.get(pattern)?;
                let parts: Vec<ScalarValue> = if re.is_match("") {
                    input.chars().map(|ch| utf8(ch.to_string())).collect()
                } else {
                    re.split(input).map(utf8).collect()
                };
                list_value(&SqlType::String, parts)
            })
        }
        "MASK" | "MASK_LEFT" | "MASK_RIGHT" | "MASK_KEEP_LEFT" | "MASK_KEEP_RIGHT" => {
            let counted = name != "MASK";
            let first = if counted { 2 } else { 1 };
            let ok = c.is(0, Str)
                && (!counted || c.is(1, Int))
                && (n == first || n == first + 4)
                && (first..n).all(|k| c.is(k, Str));
            if !ok {
                return Some(c.bad());
            }
            let kind = name.to_string();
            c.lenient(st, move |a| {
                let masker = if a.len() > first {
                    Masker {
                        upper: mask_char(&a[first])?,
                        lower: mask_char(&a[first + 1])?,
                        digit: mask_char(&a[first + 2])?,
                        other: mask_char(&a[first + 3])?,
                    }
                } else {
                    Masker {
                        upper: Some('X'),
                        lower: Some('x'),
                        digit: Some('n'),
                        other: Some('-'),
                    }
                };
                let count = if counted {
                    i(&a[1]).ok_or("null count")?
                } else {
                    0
                };
                if count < 0 {
                    return Err(format!(
                        "function {} requires a non-negative number",
                        kind.to_lowercase()
                    ));
                }
                let Some(x) = s(&a[0]) else {
                    return Ok(ScalarValue::Null);
                };
                let chars: Vec<char> = x.chars().collect();
                let len = chars.len();
                let k = (count as usize).min(len);
                let masked = |idx: usize| match kind.as_str() {
                    "MASK" => true,
                    "MASK_LEFT" => idx < k,
                    "MASK_RIGHT" => idx >= len - k,
                    "MASK_KEEP_LEFT" => idx >= k,
                    _ => idx < len - k,
                };
                Ok(utf8(
                    chars
                        .iter()
                        .enumerate()
                        .map(|(idx, ch)| if masked(idx) { masker.mask(*ch) } else { *ch })
                        .collect::<String>(),
                ))
            })
        }
        "ENCODE" if c.all(&[Str, Str, Str]) => c.strict(st, |a| {
            let input = s(&a[0]).unwrap_or_default();
            let from = s(&a[1]).unwrap_or_default().to_lowercase();
            let to = s(&a[2]).unwrap_or_default().to_lowercase();
            let known = ["hex", "utf8", "ascii", "base64"];
            if from == to || !known.contains(&from.as_str()) || !known.contains(&to.as_str()) {
                return Err(
                    "Supported input and output encodings are: hex, utf8, ascii and base64".into(),
                );
            }
            let raw = if from == "hex" {
                decode_as(&hex_strip(input), "hex")?
            } else {
                decode_as(input, &from)?
            };
            Ok(utf8(encode_as(&raw, &to)?))
        }),
        "TO_BYTES" if c.all(&[Str, Str]) => c.strict(DataType::Binary, |a| {
            let enc = s(&a[1]).unwrap_or_default().to_lowercase();
            Ok(ScalarValue::Binary(Some(decode_as(
                s(&a[0]).unwrap_or_default(),
                &enc,
            )?)))
        }),
        "FROM_BYTES" if c.all(&[Bytes, Str]) => c.strict(st, |a| {
            let enc = s(&a[1]).unwrap_or_default().to_lowercase();
            // ksqlDB's FROM_BYTES writes hex with Guava's base16: upper case.
            let text = encode_as(b(&a[0]).unwrap_or_default(), &enc)?;
            Ok(utf8(if enc == "hex" {
                text.to_uppercase()
            } else {
                text
            }))
        }),
        "URL_ENCODE_PARAM" if c.all(&[Str]) => {
            c.strict(st, |a| Ok(utf8(url_encode(s(&a[0]).unwrap_or_default()))))
        }
        "URL_DECODE_PARAM" if c.all(&[Str]) => c.strict(st, |a| {
            Ok(utf8(percent_decode(s(&a[0]).unwrap_or_default(), true)?))
        }),
        "URL_EXTRACT_PORT" if c.all(&[Str]) => c.strict(DataType::Int32, |a| {
            let u = parse_uri(s(&a[0]).unwrap_or_default())?;
            Ok(ScalarValue::Int32(u.port.filter(|p| *p >= 0)))
        }),
        "URL_EXTRACT_PARAMETER" if c.all(&[Str, Str]) => c.strict(st, |a| {
            let u = parse_uri(s(&a[0]).unwrap_or_default())?;
            let want = s(&a[1]).unwrap_or_default();
            let Some(q) = u.query else {
                return Ok(ScalarValue::Null);
            };
            let q = percent_decode(q, false)?;
            for param in q.split('&') {
                match param.split_once('=') {
                    None if param == want => return Ok(utf8("")),
                    Some((k, v)) if k == want => return Ok(utf8(v)),
                    _ => {}
                }
            }
            Ok(ScalarValue::Null)
        }),
        "URL_EXTRACT_FRAGMENT"
        | "URL_EXTRACT_HOST"
        | "URL_EXTRACT_PATH"
        | "URL_EXTRACT_PROTOCOL"
        | "URL_EXTRACT_QUERY"
            if c.all(&[Str]) =>
        {
            let part = name.to_string();
            c.strict(st, move |a| {
                let u = parse_uri(s(&a[0]).unwrap_or_default())?;
                let raw = match part.as_str() {
                    "URL_EXTRACT_FRAGMENT" => u.fragment,
                    "URL_EXTRACT_HOST" => return Ok(u.host.map_or(ScalarValue::Null, utf8)),
                    "URL_EXTRACT_PATH" => u.path,
                    "URL_EXTRACT_PROTOCOL" => return Ok(u.scheme.map_or(ScalarValue::Null, utf8)),
                    _ => u.query,
                };
                Ok(match raw {
                    Some(r) => utf8(percent_decode(r, false)?),
                    None => ScalarValue::Null,
                })
            })
        }
        _ if NAMES.contains(&name) => c.bad(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        // url.json
        let u = parse_uri("http://test@confluent.io:8080/nested/path?query&jobs").unwrap();
        assert_eq!(u.host, Some("confluent.io"));
        assert_eq!(u.port, Some(8080));
        assert_eq!(u.path, Some("/nested/path"));
        assert_eq!(u.query, Some("query&jobs"));
        let u = parse_uri("www.confluent.io").unwrap();
        assert_eq!(u.scheme, None);
        let u = parse_uri("http://www.test.com/?query#fragment").unwrap();
        assert_eq!(
            (u.host, u.fragment),
            (Some("www.test.com"), Some("fragment"))
        );
        assert_eq!(percent_decode("%3Ffoo+%24bar", true).unwrap(), "?foo $bar");
        assert_eq!(url_encode("?foo $bar"), "%3Ffoo+%24bar");
        assert_eq!(java_replacement("x$1y"), "x${1}y");
    }
}
