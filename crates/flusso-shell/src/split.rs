//! A small lexer for the shell's input: where statements end (`;` outside quotes and comments),
//! `--` comments removed, and the first words of a statement. It knows ksqlDB's quoting — `'…'`
//! strings with `''` escapes, `"…"` and `` `…` `` identifiers — and `/* … */` comments, and
//! nothing else: the server parses the statements.

/// What the lexer is inside of at some point of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    Quoted(char),
    LineComment,
    BlockComment,
}

/// One statement of the input, `--` comments removed (newlines kept), trimmed, with its `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub text: String,
    /// Whether the statement ended with `;` (the last one of a text may not).
    pub terminated: bool,
}

/// Splits `input` into statements at each `;` outside quotes and comments. Statements that are
/// only whitespace and comments are dropped; a trailing statement without `;` is returned with
/// `terminated: false`.
pub fn split(input: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut state = State::Code;
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match state {
            State::Code => match c {
                '\'' | '"' | '`' => {
                    state = State::Quoted(c);
                    current.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    chars.next();
                    state = State::LineComment;
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    current.push_str("/*");
                    state = State::BlockComment;
                }
                ';' => {
                    current.push(';');
                    push_statement(&mut out, &current, true);
                    current.clear();
                }
                _ => current.push(c),
            },
            State::Quoted(q) => {
                current.push(c);
                if c == q {
                    if chars.peek() == Some(&q) {
                        // A doubled quote is an escaped one.
                        current.push(q);
                        chars.next();
                    } else {
                        state = State::Code;
                    }
                }
            }
            State::LineComment => {
                if c == '\n' {
                    current.push('\n');
                    state = State::Code;
                }
            }
            State::BlockComment => {
                current.push(c);
                if c == '*' && chars.peek() == Some(&'/') {
                    current.push('/');
                    chars.next();
                    state = State::Code;
                }
            }
        }
    }
    push_statement(&mut out, &current, false);
    out
}

fn push_statement(out: &mut Vec<Statement>, text: &str, terminated: bool) {
    let trimmed = text.trim();
    let body = trimmed.strip_suffix(';').unwrap_or(trimmed);
    if strip_block_comments(body).trim().is_empty() {
        return;
    }
    out.push(Statement {
        text: trimmed.to_string(),
        terminated,
    });
}

/// Whether `input` holds at least one statement and ends a statement: its last character that is
/// not whitespace or inside a comment is a `;` outside quotes.
pub fn is_complete(input: &str) -> bool {
    let mut state = State::Code;
    let mut last_code: Option<char> = None;
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match state {
            State::Code => match c {
                '\'' | '"' | '`' => {
                    state = State::Quoted(c);
                    last_code = Some(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    chars.next();
                    state = State::LineComment;
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    state = State::BlockComment;
                }
                c if c.is_whitespace() => {}
                c => last_code = Some(c),
            },
            State::Quoted(q) => {
                if c == q {
                    if chars.peek() == Some(&q) {
                        chars.next();
                    } else {
                        state = State::Code;
                    }
                }
            }
            State::LineComment => {
                if c == '\n' {
                    state = State::Code;
                }
            }
            State::BlockComment => {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    state = State::Code;
                }
            }
        }
    }
    matches!(state, State::Code | State::LineComment) && last_code == Some(';')
}

/// `input` without its `--` comments (the newlines that end them are kept).
pub fn strip_line_comments(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut state = State::Code;
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match state {
            State::Code => match c {
                '\'' | '"' | '`' => {
                    state = State::Quoted(c);
                    out.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    chars.next();
                    state = State::LineComment;
                }
                _ => out.push(c),
            },
            State::Quoted(q) => {
                out.push(c);
                if c == q {
                    if chars.peek() == Some(&q) {
                        out.push(q);
                        chars.next();
                    } else {
                        state = State::Code;
                    }
                }
            }
            State::LineComment => {
                if c == '\n' {
                    out.push('\n');
                    state = State::Code;
                }
            }
            State::BlockComment => unreachable!("block comments are not tracked here"),
        }
    }
    out
}

fn strip_block_comments(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find("*/") {
            Some(end) => rest = &rest[start + 2 + end + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// The leading words of a statement (letters, digits, `_`, `-`), upper-cased, up to the first
/// character that is not part of a word or whitespace; comments are skipped.
pub fn leading_words(statement: &str, max: usize) -> Vec<String> {
    let text = strip_block_comments(&strip_line_comments(statement));
    let mut words = Vec::new();
    for token in text.split_whitespace() {
        if words.len() == max {
            break;
        }
        let word: String = token
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if word.is_empty() {
            break;
        }
        let whole = word.len() == token.len();
        words.push(word.to_uppercase());
        if !whole {
            break;
        }
    }
    words
}

/// Splits a CLI command line on whitespace outside single quotes (quotes are kept).
pub fn split_unquoted_whitespace(line: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        if c == '\'' {
            quoted = !quoted;
            current.push(c);
        } else if c.is_whitespace() && !quoted {
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// `'text'` → `text` (with `''` → `'`); anything else unchanged.
pub fn unquote(s: &str) -> String {
    if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        s[1..s.len() - 1].replace("''", "'")
    } else {
        s.to_string()
    }
}

/// A SQL string literal (`'…'`, `''` escapes) at the start of `s`: its value and the rest.
pub fn take_string_literal(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let body = s.strip_prefix('\'')?;
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if let Some(&(_, '\'')) = chars.peek() {
                value.push('\'');
                chars.next();
            } else {
                return Some((value, &body[i + 1..]));
            }
        } else {
            value.push(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<String> {
        split(input).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        assert_eq!(
            texts("SELECT 'a;b' FROM s; -- c;d\nSHOW STREAMS ;"),
            vec!["SELECT 'a;b' FROM s;", "SHOW STREAMS ;"]
        );
        assert_eq!(
            texts("CREATE STREAM `x;y` (\"a;\" INT) /* ; */ WITH (k='it''s;');"),
            vec!["CREATE STREAM `x;y` (\"a;\" INT) /* ; */ WITH (k='it''s;');"]
        );
    }

    #[test]
    fn drops_empty_statements_and_keeps_unterminated_tail() {
        let s = split(";; -- only a comment\n /* x */ ; SHOW TOPICS");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].text, "SHOW TOPICS");
        assert!(!s[0].terminated);
    }

    #[test]
    fn line_comments_are_removed_but_lines_kept() {
        assert_eq!(
            texts("SELECT *  -- the columns\nFROM s; -- done"),
            vec!["SELECT *  \nFROM s;"]
        );
        assert_eq!(strip_line_comments("a -- b\nc '--x'"), "a \nc '--x'");
    }

    #[test]
    fn completeness() {
        assert!(is_complete("SHOW STREAMS;"));
        assert!(is_complete("SHOW STREAMS;  -- trailing comment"));
        assert!(is_complete("CREATE STREAM s (id INT)\n WITH (a='b');\n"));
        assert!(!is_complete("CREATE STREAM s (id INT)"));
        assert!(!is_complete("SELECT 'abc;"));
        assert!(!is_complete("SELECT 1; /* open"));
        assert!(!is_complete("SELECT 1 -- ;"));
        assert!(!is_complete(""));
        assert!(is_complete("SELECT 'it''s';"));
    }

    #[test]
    fn words() {
        assert_eq!(
            leading_words("  -- hi\n select * from x", 2),
            vec!["SELECT".to_string()]
        );
        assert_eq!(
            leading_words("SHOW variables;", 3),
            vec!["SHOW", "VARIABLES"]
        );
        assert_eq!(leading_words("set 'a'='b';", 2), vec!["SET"]);
        assert_eq!(
            leading_words("request-pipelining on", 2),
            vec!["REQUEST-PIPELINING", "ON"]
        );
    }

    #[test]
    fn quoting_helpers() {
        assert_eq!(
            split_unquoted_whitespace("run  script '/tmp/a b.sql'"),
            vec!["run", "script", "'/tmp/a b.sql'"]
        );
        assert_eq!(unquote("'it''s'"), "it's");
        assert_eq!(unquote("plain"), "plain");
        assert_eq!(
            take_string_literal(" 'a''b' = 'c'"),
            Some(("a'b".to_string(), " = 'c'"))
        );
        assert_eq!(take_string_literal("'open"), None);
    }
}
