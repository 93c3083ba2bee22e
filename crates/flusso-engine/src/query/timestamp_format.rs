//! Java `DateTimeFormatter` patterns (as used by ksqlDB's `TIMESTAMP_FORMAT`) applied with chrono.

use chrono::{NaiveDate, NaiveDateTime, TimeZone};

/// Translates a Java pattern into a chrono format string.
pub fn to_chrono(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '%' {
                    out.push_str("%%");
                } else {
                    out.push(chars[i]);
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let spec = match (c, n) {
            ('y', 2) | ('u', 2) => "%y".to_string(),
            ('y', _) | ('u', _) => "%Y".to_string(),
            ('M', 1) => "%-m".to_string(),
            ('M', 2) => "%m".to_string(),
            ('M', 3) => "%b".to_string(),
            ('M', _) => "%B".to_string(),
            ('d', 1) => "%-d".to_string(),
            ('d', _) => "%d".to_string(),
            ('D', _) => "%j".to_string(),
            ('H', 1) => "%-H".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', _) => "%I".to_string(),
            ('m', 1) => "%-M".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', 1) => "%-S".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', 3) => "%3f".to_string(),
            ('S', 6) => "%6f".to_string(),
            ('S', 9) => "%9f".to_string(),
            ('S', k) => format!("%{k}f"),
            ('a', _) => "%p".to_string(),
            ('E', 1..=3) => "%a".to_string(),
            ('E', _) => "%A".to_string(),
            ('X', _) | ('x', _) | ('Z', _) => "%z".to_string(),
            ('z', _) | ('V', _) => "%Z".to_string(),
            ('%', _) => "%%".repeat(n),
            (other, k) => other.to_string().repeat(k),
        };
        out.push_str(&spec);
        i += n;
    }
    out
}

/// Parses `text` with a Java pattern into epoch milliseconds (UTC unless the text has a zone).
pub fn parse(text: &str, pattern: &str) -> Result<i64, String> {
    let f = to_chrono(pattern);
    // Java's `X` reads `Z` for UTC; chrono's `%z` wants digits.
    let zulu;
    let text = if f.ends_with("%z") && text.ends_with('Z') {
        zulu = format!("{}+0000", &text[..text.len() - 1]);
        zulu.as_str()
    } else {
        text
    };
    if let Ok(dt) = chrono::DateTime::parse_from_str(text, &f) {
        return Ok(dt.timestamp_millis());
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(text, &f) {
        return Ok(chrono::Utc.from_utc_datetime(&dt).timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, &f) {
        if let Some(dt) = d.and_hms_opt(0, 0, 0) {
            return Ok(chrono::Utc.from_utc_datetime(&dt).timestamp_millis());
        }
    }
    Err(format!(
        "Failed to parse timestamp '{text}' with formatter '{pattern}'"
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_java_patterns() {
        assert_eq!(
            super::parse("2018-05-11 21:58:33", "yyyy-MM-dd HH:mm:ss").unwrap(),
            1526075913000
        );
        assert_eq!(
            super::parse("2018-05-11T21:58:33.123", "yyyy-MM-dd'T'HH:mm:ss.SSS").unwrap(),
            1526075913123
        );
    }
}
