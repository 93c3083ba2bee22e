//! String and bytes functions: CONCAT, SUBSTRING, LPAD, SPLIT, ...

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{cast, Expr};

use super::udf::{b, constant, i, list_of, map_strings, s, str_column, utf8, Call, Kind};
use crate::types::SqlType;
use crate::value::{list_value, map_value};

pub(crate) const NAMES: &[&str] = &[
    "CHR",
    "CONCAT",
    "CONCAT_WS",
    "ELT",
    "FIELD",
    "INITCAP",
    "INSTR",
    "LCASE",
    "LEN",
    "LPAD",
    "LTRIM",
    "MD5",
    "REPLACE",
    "RPAD",
    "RTRIM",
    "SPLIT",
    "SPLIT_TO_MAP",
    "SUBSTRING",
    "TRIM",
    "UCASE",
    "UUID",
];

fn bytes(v: Vec<u8>) -> ScalarValue {
    ScalarValue::Binary(Some(v))
}

/// Lower (or upper) case of `x`, appended to `out`.
fn recase(x: &str, upper: bool, out: &mut String) {
    match (x.is_ascii(), upper) {
        (true, false) => {
            out.push_str(x);
            out.make_ascii_lowercase();
        }
        (true, true) => {
            out.push_str(x);
            out.make_ascii_uppercase();
        }
        (false, false) => out.push_str(&x.to_lowercase()),
        (false, true) => out.push_str(&x.to_uppercase()),
    }
}

/// ksqlDB's SPLIT of a string: the parts between delimiters; an empty delimiter splits into
/// characters (an empty string gives one empty part).
fn split_str<'a>(x: &'a str, d: &str, mut part: impl FnMut(&'a str)) {
    if d.is_empty() {
        if x.is_empty() {
            part("");
        }
        for (i, ch) in x.char_indices() {
            part(&x[i..i + ch.len_utf8()]);
        }
    } else {
        x.split(d).for_each(part);
    }
}

/// Java `String.trim()`: strips characters up to U+0020.
fn java_trim(x: &str) -> &str {
    x.trim_matches(|c: char| c <= ' ')
}

/// 0-based start of ksqlDB's SUBSTRING for a value of `len` units.
fn sub_start(len: i64, pos: i64) -> i64 {
    if pos < 0 {
        (len + pos).max(0)
    } else {
        (pos - 1).min(len).max(0)
    }
}

fn substring<T: Clone>(v: &[T], pos: i64, length: Option<i64>) -> Vec<T> {
    let n = v.len() as i64;
    let start = sub_start(n, pos);
    let end = match length {
        Some(l) => (start + l).min(n).max(start),
        None => n,
    };
    v[start as usize..end as usize].to_vec()
}

/// Pads `input` to `target` units with `padding`, on the left or right (ksqlDB LPAD/RPAD).
fn pad<T: Clone>(input: &[T], padding: &[T], target: i64, left: bool) -> Option<Vec<T>> {
    if padding.is_empty() || target < 0 {
        return None;
    }
    let target = target as usize;
    if input.len() >= target {
        return Some(input[..target].to_vec());
    }
    let fill: Vec<T> = padding
        .iter()
        .cycle()
        .take(target - input.len())
        .cloned()
        .collect();
    Some(if left {
        [fill, input.to_vec()].concat()
    } else {
        [input.to_vec(), fill].concat()
    })
}

/// Splits on a non-empty delimiter, keeping empty parts (Guava's `Splitter`).
fn split_bytes(v: &[u8], delim: &[u8]) -> Vec<Vec<u8>> {
    if delim.is_empty() {
        return v.iter().map(|x| vec![*x]).collect();
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut k = 0;
    while k + delim.len() <= v.len() {
        if &v[k..k + delim.len()] == delim {
            out.push(v[start..k].to_vec());
            k += delim.len();
            start = k;
        } else {
            k += 1;
        }
    }
    out.push(v[start..].to_vec());
    out
}

/// ksqlDB's INSTR (1-based; negative position searches backwards from the end).
fn instr(text: &str, sub: &str, position: i64, occurrence: i64) -> i64 {
    let t: Vec<char> = text.chars().collect();
    let sb: Vec<char> = sub.chars().collect();
    let n = t.len() as i64;
    if position.abs() > n {
        return 0;
    }
    let (hay, needle, pos, rev) = if position < 0 {
        let mut h = t.clone();
        h.reverse();
        let mut s2 = sb.clone();
        s2.reverse();
        (h, s2, -position, true)
    } else {
        (t.clone(), sb.clone(), position, false)
    };
    // StringUtils.substring(str, position - 1) then ordinalIndexOf(.., occurrence)
    let from = (pos - 1).max(0) as usize;
    let rest = &hay[from.min(hay.len())..];
    if occurrence <= 0 {
        return 0;
    }
    let mut found = 0;
    let mut idx: i64 = -1;
    let mut k = 0usize;
    while k + needle.len() <= rest.len() {
        if rest[k..k + needle.len()] == needle[..] {
            found += 1;
            if found == occurrence {
                idx = k as i64;
                break;
            }
            k += needle.len().max(1);
        } else {
            k += 1;
        }
    }
    if idx == -1 {
        return 0;
    }
    if rev {
        n - pos - idx - needle.len() as i64 + 2
    } else {
        idx + pos
    }
}

/// Decodes Java `\uXXXX` escapes (as StringEscapeUtils.unescapeJava does for them).
fn unescape_java(x: &str) -> Option<String> {
    let mut units = Vec::new();
    let mut rest = x;
    while let Some(r) = rest.strip_prefix("\\u") {
        let hex = r.get(..4)?;
        units.push(u16::from_str_radix(hex, 16).ok()?);
        rest = &r[4..];
    }
    let mut out = String::from_utf16(&units).ok()?;
    out.push_str(rest);
    Some(out)
}

pub(crate) fn build(name: &str, c: &Call) -> Option<Result<Expr, String>> {
    use Kind::*;
    let n = c.len();
    let str_ret = DataType::Utf8;
    Some(match name {
        "CONCAT" if n > 0 && (0..n).all(|k| c.is(k, Str)) => c.lenient(str_ret, |a| {
            Ok(utf8(a.iter().filter_map(s).collect::<String>()))
        }),
        "CONCAT" if n > 0 && (0..n).all(|k| c.is(k, Bytes)) => c.lenient(DataType::Binary, |a| {
            Ok(bytes(a.iter().filter_map(b).flatten().copied().collect()))
        }),
        "CONCAT_WS" if n >= 2 && (0..n).all(|k| c.is(k, Str)) => c.lenient(str_ret, |a| {
            let Some(sep) = s(&a[0]) else {
                return Ok(ScalarValue::Null);
            };
            Ok(utf8(
                a[1..].iter().filter_map(s).collect::<Vec<_>>().join(sep),
            ))
        }),
        "CONCAT_WS" if n >= 2 && (0..n).all(|k| c.is(k, Bytes)) => {
            c.lenient(DataType::Binary, |a| {
                let Some(sep) = b(&a[0]) else {
                    return Ok(ScalarValue::Null);
                };
                Ok(bytes(
                    a[1..].iter().filter_map(b).collect::<Vec<_>>().join(sep),
                ))
            })
        }
        "SUBSTRING" if (n == 2 || n == 3) && c.is(1, Integral) && c.is(2.min(n - 1), Integral) => {
            if c.is(0, Str) {
                c.strict(str_ret, |a| {
                    let chars: Vec<char> = s(&a[0]).unwrap_or_default().chars().collect();
                    let len = a.get(2).and_then(i);
                    let pos = i(&a[1]).unwrap_or(1);
                    Ok(utf8(
                        substring(&chars, pos, len).into_iter().collect::<String>(),
                    ))
                })
            } else if c.is(0, Bytes) {
                c.strict(DataType::Binary, |a| {
                    let pos = i(&a[1]).unwrap_or(1);
                    Ok(bytes(substring(
                        b(&a[0]).unwrap_or_default(),
                        pos,
                        a.get(2).and_then(i),
                    )))
                })
            } else {
                c.bad()
            }
        }
        "LEN" if c.all(&[Str]) => c.strict(DataType::Int32, |a| {
            let x = s(&a[0]).unwrap_or_default();
            Ok(ScalarValue::Int32(Some(x.encode_utf16().count() as i32)))
        }),
        "LEN" if c.all(&[Bytes]) => c.strict(DataType::Int32, |a| {
            Ok(ScalarValue::Int32(Some(
                b(&a[0]).unwrap_or_default().len() as i32
            )))
        }),
        "LCASE" | "UCASE" if c.all(&[Str]) => {
            let upper = name == "UCASE";
            c.strict_columns(
                str_ret,
                move |a| {
                    let mut out = String::new();
                    recase(s(&a[0]).unwrap_or_default(), upper, &mut out);
                    Ok(utf8(out))
                },
                move |args| {
                    let x = str_column(args, 0)?;
                    Some(Ok(map_strings(x, |v, out| {
                        recase(v, upper, out);
                        true
                    })))
                },
            )
        }
        "TRIM" if c.all(&[Str]) => c.strict(str_ret, |a| {
            Ok(utf8(java_trim(s(&a[0]).unwrap_or_default())))
        }),
        "LTRIM" if c.all(&[Str]) => c.strict(str_ret, |a| {
            Ok(utf8(
                s(&a[0])
                    .unwrap_or_default()
                    .trim_start_matches(|c: char| c <= ' '),
            ))
        }),
        "RTRIM" if c.all(&[Str]) => c.strict(str_ret, |a| {
            Ok(utf8(
                s(&a[0])
                    .unwrap_or_default()
                    .trim_end_matches(|c: char| c <= ' '),
            ))
        }),
        "REPLACE" if c.all(&[Str, Str, Str]) => c.strict(str_ret, |a| {
            let (x, from, to) = (s(&a[0]), s(&a[1]), s(&a[2]));
            let (x, from, to) = (
                x.unwrap_or_default(),
                from.unwrap_or_default(),
                to.unwrap_or_default(),
            );
            // Java's String.replace with an empty target inserts between every char.
            Ok(utf8(if from.is_empty() {
                let mut out = String::from(to);
                for ch in x.chars() {
                    out.push(ch);
                    out.push_str(to);
                }
                out
            } else {
                x.replace(from, to)
            }))
        }),
        "INSTR"
            if (2..=4).contains(&n)
                && c.is(0, Str)
                && c.is(1, Str)
                && (2..n).all(|k| c.is(k, Int)) =>
        {
            c.lenient(DataType::Int32, |a| {
                let (Some(x), Some(sub)) = (s(&a[0]), s(&a[1])) else {
                    return Ok(ScalarValue::Int32(Some(0)));
                };
                let pos = a.get(2).map_or(Some(1), i).ok_or("null position")?;
                let occ = a.get(3).map_or(Some(1), i).ok_or("null occurrence")?;
                Ok(ScalarValue::Int32(Some(instr(x, sub, pos, occ) as i32)))
            })
        }
        "INITCAP" if c.all(&[Str]) => c.strict(str_ret, |a| {
            let lower = s(&a[0]).unwrap_or_default().trim_start().to_lowercase();
            let mut out = String::with_capacity(lower.len());
            let mut at_word_start = true;
            for ch in lower.chars() {
                if ch.is_whitespace() {
                    at_word_start = true;
                    out.push(ch);
                } else if at_word_start {
                    out.extend(ch.to_uppercase());
                    at_word_start = false;
                } else {
                    out.push(ch);
                }
            }
            Ok(utf8(out))
        }),
        "LPAD" | "RPAD" if n == 3 && c.is(1, Int) => {
            let left = name == "LPAD";
            if c.is(0, Str) && c.is(2, Str) {
                c.lenient(str_ret, move |a| {
                    let (Some(x), Some(p), Some(t)) = (s(&a[0]), s(&a[2]), i(&a[1])) else {
                        return Ok(ScalarValue::Null);
                    };
                    let x: Vec<u16> = x.encode_utf16().collect();
                    let p: Vec<u16> = p.encode_utf16().collect();
                    Ok(pad(&x, &p, t, left)
                        .map_or(ScalarValue::Null, |v| utf8(String::from_utf16_lossy(&v))))
                })
            } else if c.is(0, Bytes) && c.is(2, Bytes) {
                c.lenient(DataType::Binary, move |a| {
                    let (Some(x), Some(p), Some(t)) = (b(&a[0]), b(&a[2]), i(&a[1])) else {
                        return Ok(ScalarValue::Null);
                    };
                    Ok(pad(x, p, t, left).map_or(ScalarValue::Null, bytes))
                })
            } else {
                c.bad()
            }
        }
        "SPLIT" if c.all(&[Str, Str]) => c.strict_columns(
            list_of(DataType::Utf8),
            |a| {
                let (x, d) = (s(&a[0]).unwrap_or_default(), s(&a[1]).unwrap_or_default());
                let mut parts = Vec::new();
                split_str(x, d, |p| parts.push(utf8(p)));
                list_value(&SqlType::String, parts)
            },
            |args| {
                let (x, d) = (str_column(args, 0)?, s(constant(args, 1)?)?);
                let field = Field::new("item", DataType::Utf8, true);
                let mut out = ListBuilder::new(StringBuilder::new()).with_field(field);
                for v in x.iter() {
                    match v {
                        Some(v) => {
                            split_str(v, d, |p| out.values().append_value(p));
                            out.append(true);
                        }
                        None => out.append(false),
                    }
                }
                Some(Ok(Arc::new(out.finish()) as ArrayRef))
            },
        ),
        "SPLIT" if c.all(&[Bytes, Bytes]) => c.strict(list_of(DataType::Binary), |a| {
            let parts = split_bytes(b(&a[0]).unwrap_or_default(), b(&a[1]).unwrap_or_default());
            list_value(&SqlType::Bytes, parts.into_iter().map(bytes).collect())
        }),
        "SPLIT_TO_MAP" if c.all(&[Str, Str, Str]) => {
            let ret = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::String));
            c.strict(ret.to_arrow(), |a| {
                let (x, ed, kd) = (s(&a[0]), s(&a[1]), s(&a[2]));
                let (x, ed, kd) = (
                    x.unwrap_or_default(),
                    ed.unwrap_or_default(),
                    kd.unwrap_or_default(),
                );
                if ed.is_empty() || kd.is_empty() || ed == kd {
                    return Ok(ScalarValue::Null);
                }
                let mut entries: Vec<(String, String)> = Vec::new();
                for e in x.split(ed).filter(|e| !e.is_empty() && e.contains(kd)) {
                    let mut it = e.split(kd);
                    let k = it.next().unwrap_or_default().to_string();
                    let v = it.next().unwrap_or_default().to_string();
                    match entries.iter_mut().find(|(ek, _)| *ek == k) {
                        Some(slot) => slot.1 = v,
                        None => entries.push((k, v)),
                    }
                }
                map_value(
                    &SqlType::String,
                    &SqlType::String,
                    entries
                        .into_iter()
                        .map(|(k, v)| (utf8(k), utf8(v)))
                        .collect(),
                )
            })
        }
        "CHR" if c.all(&[Int]) => c.strict(str_ret, |a| {
            let code = i(&a[0]).ok_or("null")?;
            Ok(u32::try_from(code)
                .ok()
                .and_then(char::from_u32)
                .map_or(ScalarValue::Null, |ch| utf8(ch.to_string())))
        }),
        "CHR" if c.all(&[Str]) => c.strict(str_ret, |a| {
            let x = s(&a[0]).unwrap_or_default();
            if x.len() < 6 || !x.starts_with("\\u") {
                return Ok(ScalarValue::Null);
            }
            Ok(unescape_java(x).map_or(ScalarValue::Null, utf8))
        }),
        "ELT" if n >= 1 && c.is(0, Int) && (1..n).all(|k| c.is(k, Str)) => {
            c.lenient(str_ret, |a| {
                let Some(k) = i(&a[0]) else {
                    return Ok(ScalarValue::Null);
                };
                if k < 1 || k as usize >= a.len() {
                    return Ok(ScalarValue::Null);
                }
                Ok(a[k as usize].clone())
            })
        }
        "FIELD" if n >= 1 && (0..n).all(|k| c.is(k, Str)) => c.lenient(DataType::Int32, |a| {
            let Some(x) = s(&a[0]) else {
                return Ok(ScalarValue::Int32(Some(0)));
            };
            let pos = a[1..].iter().position(|v| s(v) == Some(x));
            Ok(ScalarValue::Int32(Some(pos.map_or(0, |p| p as i32 + 1))))
        }),
        "MD5" if c.all(&[Str]) => Ok(cast(
            datafusion::functions::expr_fn::md5(c.args[0].clone()),
            DataType::Utf8,
        )),
        "UUID" if n == 0 => Ok(cast(datafusion::functions::expr_fn::uuid(), DataType::Utf8)),
        "CONCAT" | "CONCAT_WS" | "SUBSTRING" | "LEN" | "LCASE" | "UCASE" | "TRIM" | "LTRIM"
        | "RTRIM" | "REPLACE" | "INSTR" | "INITCAP" | "LPAD" | "RPAD" | "SPLIT"
        | "SPLIT_TO_MAP" | "CHR" | "ELT" | "FIELD" | "MD5" | "UUID" => c.bad(),
        _ => return super::text::build(name, c),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instr_cases() {
        // instr.json
        assert_eq!(instr("CORPORATE FLOOR", "OR", 1, 1), 2);
        assert_eq!(instr("CORPORATE FLOOR", "OR", 3, 2), 14);
        assert_eq!(instr("CORPORATE FLOOR", "OR", -3, 2), 2);
        assert_eq!(instr("CORPORATE FLOOR", "MISSING", 1, 1), 0);
    }

    #[test]
    fn substrings() {
        let v: Vec<char> = "hello".chars().collect();
        assert_eq!(substring(&v, 2, Some(3)).iter().collect::<String>(), "ell");
        assert_eq!(substring(&v, -3, None).iter().collect::<String>(), "llo");
        assert_eq!(substring(&v, 0, Some(2)).iter().collect::<String>(), "he");
        assert_eq!(substring(&v, 10, Some(2)).iter().collect::<String>(), "");
    }
}
