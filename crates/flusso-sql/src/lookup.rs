//! A recognizer for the most common pull query, `SELECT * FROM t WHERE k = literal;`, that
//! needs no tokenizer, no AST and no allocation beyond the names it returns.
//!
//! It accepts only a strict subset of what [`crate::parse`] accepts and reads it the same way
//! (unquoted identifiers upper-cased, `` `quoted` `` ones kept, `''` in a string is a quote), so
//! a caller may answer a statement it recognizes without parsing it; anything else (comments,
//! other clauses, negative numbers, keywords as names, ...) is `None`, for the full parser.

/// The literal a [`KeyLookup`] compares the key with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupLiteral {
    /// Digits only (no sign, point or exponent), as written.
    Integer(String),
    /// A single-quoted string, unescaped.
    String(String),
}

/// `SELECT * FROM <source> WHERE <column> = <literal>;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLookup {
    /// The source's name, as the parser would name it.
    pub source: String,
    /// The compared column's name.
    pub column: String,
    /// The literal.
    pub literal: LookupLiteral,
}

/// Words that are never taken as an unquoted name here (the parser reserves or treats them).
const RESERVED: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "NULL",
    "TRUE",
    "FALSE",
    "LIMIT",
    "EMIT",
    "GROUP",
    "BY",
    "HAVING",
    "WINDOW",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "ON",
    "AS",
    "IN",
    "IS",
    "LIKE",
    "BETWEEN",
    "PARTITION",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "INTERVAL",
    "WITHIN",
    "CHANGES",
    "FINAL",
];

struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn space(&mut self) -> bool {
        let start = self.at;
        while self.at < self.s.len() && matches!(self.s[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
        self.at > start
    }

    fn keyword(&mut self, word: &str) -> Option<()> {
        let end = self.at + word.len();
        let w = self.s.get(self.at..end)?;
        if !w.eq_ignore_ascii_case(word.as_bytes()) {
            return None;
        }
        if self
            .s
            .get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            return None;
        }
        self.at = end;
        Some(())
    }

    fn byte(&mut self, b: u8) -> Option<()> {
        (self.s.get(self.at) == Some(&b)).then(|| self.at += 1)
    }

    fn identifier(&mut self) -> Option<String> {
        let s = self.s;
        match s.get(self.at)? {
            b'`' => {
                let start = self.at + 1;
                let len = s[start..].iter().position(|c| *c == b'`')?;
                let name = std::str::from_utf8(&s[start..start + len]).ok()?;
                if name.is_empty() {
                    return None;
                }
                self.at = start + len + 1;
                // A doubled backquote is an escape: leave that to the parser.
                if s.get(self.at) == Some(&b'`') {
                    return None;
                }
                Some(name.to_string())
            }
            c if c.is_ascii_alphabetic() || *c == b'_' => {
                let start = self.at;
                while self.at < s.len()
                    && (s[self.at].is_ascii_alphanumeric() || s[self.at] == b'_')
                {
                    self.at += 1;
                }
                let name = std::str::from_utf8(&s[start..self.at]).ok()?;
                let upper = name.to_ascii_uppercase();
                if RESERVED.contains(&upper.as_str()) {
                    return None;
                }
                Some(upper)
            }
            _ => None,
        }
    }

    fn literal(&mut self) -> Option<LookupLiteral> {
        let s = self.s;
        match s.get(self.at)? {
            b'0'..=b'9' => {
                let start = self.at;
                while self.at < s.len() && s[self.at].is_ascii_digit() {
                    self.at += 1;
                }
                if s.get(self.at)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_'))
                {
                    return None;
                }
                Some(LookupLiteral::Integer(
                    std::str::from_utf8(&s[start..self.at]).ok()?.to_string(),
                ))
            }
            b'\'' => {
                let mut out = Vec::new();
                let mut i = self.at + 1;
                loop {
                    match s.get(i)? {
                        b'\'' if s.get(i + 1) == Some(&b'\'') => {
                            out.push(b'\'');
                            i += 2;
                        }
                        b'\'' => break,
                        // Backslashes and line breaks: the parser's business.
                        b'\\' | b'\n' | b'\r' => return None,
                        c => {
                            out.push(*c);
                            i += 1;
                        }
                    }
                }
                self.at = i + 1;
                Some(LookupLiteral::String(String::from_utf8(out).ok()?))
            }
            _ => None,
        }
    }
}

/// Recognizes `SELECT * FROM <source> WHERE <column> = <literal>;` (one statement, any case and
/// spacing, the semicolon required); `None` for anything else.
pub fn key_lookup(sql: &str) -> Option<KeyLookup> {
    let mut c = Cursor {
        s: sql.as_bytes(),
        at: 0,
    };
    c.space();
    c.keyword("SELECT")?;
    c.space();
    c.byte(b'*')?;
    c.space().then_some(())?;
    c.keyword("FROM")?;
    c.space().then_some(())?;
    let source = c.identifier()?;
    c.space().then_some(())?;
    c.keyword("WHERE")?;
    c.space().then_some(())?;
    let column = c.identifier()?;
    c.space();
    c.byte(b'=')?;
    c.space();
    let literal = c.literal()?;
    c.space();
    c.byte(b';')?;
    c.space();
    (c.at == c.s.len()).then_some(KeyLookup {
        source,
        column,
        literal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{SelectItem, StatementKind};

    fn agrees(sql: &str) -> KeyLookup {
        let k = key_lookup(sql).unwrap_or_else(|| panic!("not recognized: {sql}"));
        let statements = crate::parse(sql).unwrap();
        let [s] = statements.as_slice() else { panic!() };
        let StatementKind::Query(q) = &s.kind else {
            panic!()
        };
        assert_eq!(q.projection, vec![SelectItem::Wildcard]);
        assert_eq!(q.from.name, k.source);
        assert!(q.joins.is_empty() && q.limit.is_none() && q.emit.is_none());
        let Some(sqlparser::ast::Expr::BinaryOp { left, op, right }) = &q.selection else {
            panic!("{:?}", q.selection)
        };
        assert_eq!(*op, sqlparser::ast::BinaryOperator::Eq);
        let sqlparser::ast::Expr::Identifier(id) = left.as_ref() else {
            panic!()
        };
        assert_eq!(id.value, k.column);
        let sqlparser::ast::Expr::Value(v) = right.as_ref() else {
            panic!()
        };
        match (&v.value, &k.literal) {
            (sqlparser::ast::Value::Number(n, _), LookupLiteral::Integer(i)) => assert_eq!(n, i),
            (sqlparser::ast::Value::SingleQuotedString(s), LookupLiteral::String(t)) => {
                assert_eq!(s, t)
            }
            other => panic!("{other:?}"),
        }
        k
    }

    #[test]
    fn recognizes_what_the_parser_reads_the_same() {
        agrees("SELECT * FROM by_id WHERE id=42;");
        agrees("  select *  from `Mixed` where `k` = 'a''b' ;  ");
        agrees("SELECT * FROM T\nWHERE ID = 007;");
        agrees("SELECT * FROM t_1 WHERE name='';");
        let k = agrees("SELECT * FROM by_id WHERE id='x y';");
        assert_eq!(k.source, "BY_ID");
        assert_eq!(k.literal, LookupLiteral::String("x y".into()));
    }

    #[test]
    fn leaves_the_rest_to_the_parser() {
        for sql in [
            "SELECT * FROM t WHERE id=-1;",
            "SELECT * FROM t WHERE id=1.5;",
            "SELECT * FROM t WHERE id=1",
            "SELECT * FROM t WHERE id=1; SELECT 1;",
            "SELECT * FROM t WHERE id=1 LIMIT 1;",
            "SELECT * FROM t WHERE 1=id;",
            "SELECT * FROM t WHERE id=1 AND x=2;",
            "SELECT * FROM t WHERE id='a\\b';",
            "SELECT * FROM select WHERE id=1;",
            "SELECT * FROM t WHERE id=1e3;",
            "SELECT * FROM t -- x\n WHERE id=1;",
            "SELECT *, 1 FROM t WHERE id=1;",
            "SELECT * FROM t WHERE id=1 EMIT CHANGES;",
            "SELECT * FROMt WHERE id=1;",
        ] {
            assert_eq!(key_lookup(sql), None, "{sql}");
        }
    }
}
