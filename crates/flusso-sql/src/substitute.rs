//! `${name}` variable substitution (ksqlDB's `DEFINE`d variables), done on the text before parsing.

use std::collections::HashMap;

use crate::error::ParseError;

/// Replaces every `${name}` in `sql` with its value from `vars`.
///
/// Names are matched exactly first, then case-insensitively (ksqlDB upper-cases unquoted
/// `DEFINE` names). Substitution also applies inside string literals, as in ksqlDB. An unknown
/// variable or an unterminated `${` is an error at its position.
pub fn substitute(sql: &str, vars: &HashMap<String, String>) -> Result<String, ParseError> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    let (mut line, mut column) = (1u64, 1u64);
    while let Some(start) = rest.find("${") {
        let (before, after) = rest.split_at(start);
        out.push_str(before);
        advance(&mut line, &mut column, before);
        let Some(end) = after.find('}') else {
            return Err(ParseError::new(
                "unterminated variable reference",
                line,
                column,
            ));
        };
        let name = &after[2..end];
        let value = vars.get(name).or_else(|| {
            vars.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        });
        let Some(value) = value else {
            return Err(ParseError::new(
                format!("unknown variable '{name}'"),
                line,
                column,
            ));
        };
        out.push_str(value);
        advance(&mut line, &mut column, &after[..=end]);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn advance(line: &mut u64, column: &mut u64, text: &str) {
    for ch in text.chars() {
        if ch == '\n' {
            *line += 1;
            *column = 1;
        } else {
            *column += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> HashMap<String, String> {
        [("topic", "pv"), ("FORMAT", "JSON")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn replaces_variables_everywhere() {
        let sql = "CREATE STREAM ${topic} WITH (kafka_topic='${topic}', value_format='${format}');";
        assert_eq!(
            substitute(sql, &vars()).unwrap(),
            "CREATE STREAM pv WITH (kafka_topic='pv', value_format='JSON');"
        );
        assert_eq!(
            substitute("no variables $ {x}", &vars()).unwrap(),
            "no variables $ {x}"
        );
    }

    #[test]
    fn reports_unknown_and_unterminated_variables() {
        let e = substitute("SELECT 1;\n  ${x} FROM s", &vars()).unwrap_err();
        assert_eq!(e.to_string(), "line 2:3: unknown variable 'x'");
        let e = substitute("ab ${topic", &vars()).unwrap_err();
        assert_eq!(e.to_string(), "line 1:4: unterminated variable reference");
    }
}
