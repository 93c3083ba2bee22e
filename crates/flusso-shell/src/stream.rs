//! Incremental parsing of `/query` responses as their chunks arrive: the streamed JSON array of
//! `StreamedRow`s (`[{"header":…},\n{"row":…},\n…]`), and the plain text lines of `PRINT`.

use serde_json::Value;

/// Cuts a streamed JSON array into its elements as bytes arrive. Any whitespace or layout between
/// elements is accepted; so are elements without the enclosing array (newline-delimited JSON).
#[derive(Debug, Default)]
pub struct ArrayStream {
    buf: Vec<u8>,
    /// Scan position in `buf`.
    pos: usize,
    /// Start of the element being read, if one is open.
    start: Option<usize>,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The array's opening `[` was seen.
    opened: bool,
    /// The array's closing `]` was seen.
    pub closed: bool,
}

impl ArrayStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk; returns the elements it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Result<Value, String>> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while self.pos < self.buf.len() {
            let b = self.buf[self.pos];
            match self.start {
                None => match b {
                    b'[' if !self.opened => self.opened = true,
                    b'{' | b'[' => {
                        self.start = Some(self.pos);
                        self.depth = 1;
                    }
                    b']' => self.closed = true,
                    b'"' => {
                        // A bare string element: read it like a container of depth 1.
                        self.start = Some(self.pos);
                        self.depth = 1;
                        self.in_string = true;
                    }
                    _ => {}
                },
                Some(start) => {
                    if self.in_string {
                        if self.escaped {
                            self.escaped = false;
                        } else if b == b'\\' {
                            self.escaped = true;
                        } else if b == b'"' {
                            self.in_string = false;
                            if self.buf[start] == b'"' {
                                self.depth = 0;
                            }
                        }
                    } else {
                        match b {
                            b'"' => self.in_string = true,
                            b'{' | b'[' => self.depth += 1,
                            b'}' | b']' => self.depth -= 1,
                            _ => {}
                        }
                    }
                    if self.depth == 0 {
                        let slice = &self.buf[start..=self.pos];
                        out.push(
                            serde_json::from_slice(slice)
                                .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(slice))),
                        );
                        self.start = None;
                    }
                }
            }
            self.pos += 1;
        }
        // Keep only the open element's bytes.
        let keep_from = self.start.unwrap_or(self.pos);
        if keep_from > 0 {
            self.buf.drain(..keep_from);
            self.pos -= keep_from;
            if let Some(s) = self.start.as_mut() {
                *s = 0;
            }
        }
        out
    }

    /// The bytes of an element left open (at the end of the response, a truncated element).
    #[cfg(test)]
    pub fn pending(&self) -> Option<String> {
        self.start
            .map(|s| String::from_utf8_lossy(&self.buf[s..]).into_owned())
    }
}

/// Splits a text stream into lines as chunks arrive (`\n` or `\r\n`).
#[derive(Debug, Default)]
pub struct LineStream {
    buf: Vec<u8>,
}

impl LineStream {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let line = String::from_utf8_lossy(&line[..line.len() - 1]);
            out.push(line.trim_end_matches('\r').to_string());
        }
        out
    }

    /// What is left after the last newline.
    pub fn finish(&mut self) -> Option<String> {
        if self.buf.is_empty() {
            return None;
        }
        let rest = String::from_utf8_lossy(&self.buf).trim_end().to_string();
        self.buf.clear();
        Some(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all(parts: &[&str]) -> Vec<Value> {
        let mut s = ArrayStream::new();
        let mut out = Vec::new();
        for p in parts {
            out.extend(s.push(p.as_bytes()).into_iter().map(|r| r.unwrap()));
        }
        out
    }

    #[test]
    fn elements_come_out_as_soon_as_they_are_complete() {
        let mut s = ArrayStream::new();
        let first = s
            .push(b"[{\"header\":{\"queryId\":\"q\",\"schema\":\"`A` STRING\"}},\n{\"row\":{\"col");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].as_ref().unwrap()["header"]["queryId"], json!("q"));
        assert!(s.pending().is_some());
        let second = s.push(b"umns\":[\"x}]\\\"\"]}},\n");
        assert_eq!(second.len(), 1);
        assert_eq!(
            second[0].as_ref().unwrap()["row"]["columns"],
            json!(["x}]\""])
        );
        assert!(!s.closed);
        let last = s.push(b"{\"finalMessage\":\"Limit Reached\"}]");
        assert_eq!(
            last[0].as_ref().unwrap(),
            &json!({"finalMessage": "Limit Reached"})
        );
        assert!(s.closed);
        assert!(s.pending().is_none());
    }

    #[test]
    fn byte_by_byte_and_newline_delimited() {
        let text = "[{\"a\":[1,{\"b\":\"[{\"}]},\n{\"c\":null}]";
        let bytes: Vec<String> = text.chars().map(|c| c.to_string()).collect();
        let refs: Vec<&str> = bytes.iter().map(String::as_str).collect();
        assert_eq!(
            all(&refs),
            vec![json!({"a": [1, {"b": "[{"}]}), json!({"c": null})]
        );
        assert_eq!(
            all(&["{\"a\":1}\n{\"a\":2}\n"]),
            vec![json!({"a": 1}), json!({"a": 2})]
        );
    }

    #[test]
    fn bad_element_is_an_error() {
        let mut s = ArrayStream::new();
        let r = s.push(b"[{\"a\":tru}]");
        assert!(r[0].is_err());
    }

    #[test]
    fn lines() {
        let mut l = LineStream::new();
        assert_eq!(
            l.push(b"rowtime: 1, key: a\r\nrow"),
            vec!["rowtime: 1, key: a"]
        );
        assert_eq!(l.push(b"time: 2\n\n"), vec!["rowtime: 2", ""]);
        assert_eq!(l.push(b"tail"), Vec::<String>::new());
        assert_eq!(l.finish().as_deref(), Some("tail"));
    }
}
