//! Parsing of sizes (`64MiB`, `1048576`) and durations (`500ms`, `7d`).

/// Parses a byte size: a plain integer, or one with a `B`, `KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`
/// suffix (all binary multiples, as Kafka's configs are).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("invalid size '{text}'"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("invalid size unit in '{text}'")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size '{text}' is too large"))
}

/// Parses a duration into milliseconds: a plain integer (milliseconds) or one with an
/// `ms`, `s`, `m`, `h` or `d` suffix.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("invalid duration '{text}'"))?;
    let mult = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("invalid duration unit in '{text}'")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("duration '{text}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert_eq!(parse_bytes("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1 GB").unwrap(), 1 << 30);
        assert!(parse_bytes("12XB").is_err());
        assert!(parse_bytes("").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("250").unwrap(), 250);
        assert_eq!(parse_duration_ms("7d").unwrap(), 7 * 86_400_000);
        assert_eq!(parse_duration_ms("-1").unwrap(), -1);
        assert!(parse_duration_ms("5y").is_err());
    }
}
