//! The two table layouts of ksqlDB's CLI: `Table` (entity listings: ` A | B ` rows between dashed
//! lines) and `TabularRow` (query results: `|a    |b    |` cells of a fixed width between
//! `+-----+-----+` lines).

/// A listing: optional lines before, a header row, rows, optional lines after.
#[derive(Debug, Default, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub header_lines: Vec<String>,
    pub footer_lines: Vec<String>,
}

impl Table {
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    pub fn row<S: Into<String>>(mut self, cells: impl IntoIterator<Item = S>) -> Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    pub fn footer(mut self, line: impl Into<String>) -> Self {
        self.footer_lines.push(line.into());
        self
    }

    pub fn header_line(mut self, line: impl Into<String>) -> Self {
        self.header_lines.push(line.into());
        self
    }

    /// Renders the table; dashed lines are cut at `width` (the terminal's, when known).
    pub fn render(&self, width: Option<usize>) -> String {
        let mut out = String::new();
        for line in &self.header_lines {
            out.push_str(line);
            out.push('\n');
        }
        if !self.headers.is_empty() {
            let lengths: Vec<usize> = (0..self.headers.len())
                .map(|i| {
                    let cells = self.rows.iter().map(|r| {
                        r.get(i)
                            .map(|c| c.lines().map(char_len).max().unwrap_or(0))
                            .unwrap_or(0)
                    });
                    cells.fold(char_len(&self.headers[i]), usize::max)
                })
                .collect();
            let total = lengths.iter().map(|l| l + 3).sum::<usize>() - 1;
            let separator = "-".repeat(width.map_or(total, |w| w.min(total)));
            push_row(&mut out, &self.headers, &lengths);
            out.push_str(&separator);
            out.push('\n');
            for row in &self.rows {
                push_row(&mut out, row, &lengths);
            }
            out.push_str(&separator);
            out.push('\n');
        }
        for line in &self.footer_lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

fn push_row(out: &mut String, cells: &[String], lengths: &[usize]) {
    out.push(' ');
    for (i, len) in lengths.iter().enumerate() {
        if i > 0 {
            out.push_str(" | ");
        }
        let cell = cells.get(i).map(String::as_str).unwrap_or("");
        out.push_str(&pad(cell, *len));
    }
    out.push_str(" \n");
}

pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// `s` left-aligned in `width` characters (never cut).
pub fn pad(s: &str, width: usize) -> String {
    let n = char_len(s);
    if n >= width {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(width - n))
    }
}

const CLIPPED: &str = "...";
const MIN_CELL_WIDTH: usize = 5;

/// The width of every cell of a query result: the configured COLUMN-WIDTH, or the terminal's
/// width shared between the columns.
pub fn cell_width(terminal_width: usize, columns: usize, configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    terminal_width
        .checked_div(columns)
        .map_or(MIN_CELL_WIDTH, |w| w.saturating_sub(2).max(MIN_CELL_WIDTH))
}

/// The separator line of a query result: `+-----+-----+`.
pub fn separator(cell_width: usize, columns: usize) -> String {
    let mut s = String::from("+");
    for _ in 0..columns {
        s.push_str(&"-".repeat(cell_width));
        s.push('+');
    }
    s
}

/// One row of a query result. Values longer than a cell wrap onto more lines when `wrap` is on,
/// and are cut with `...` when it is off.
pub fn tabular_row(values: &[String], cell_width: usize, wrap: bool) -> String {
    if values.is_empty() {
        return String::new();
    }
    let split: Vec<Vec<String>> = values.iter().map(|v| split_fixed(v, cell_width)).collect();
    let max_split = split.iter().map(Vec::len).max().unwrap_or(1);
    let lines = if wrap { max_split } else { 1 };
    let blank = " ".repeat(cell_width);
    let mut out = String::new();
    for line in 0..lines {
        out.push('|');
        for parts in &split {
            let cell = parts.get(line).unwrap_or(&blank);
            let clip = parts.len() > lines && parts[lines..].iter().any(|p| !p.trim().is_empty());
            if clip && line == lines - 1 {
                let keep = char_len(cell).saturating_sub(CLIPPED.len());
                out.extend(cell.chars().take(keep));
                out.push_str(CLIPPED);
            } else {
                out.push_str(cell);
            }
            out.push('|');
        }
        if line + 1 != lines {
            out.push('\n');
        }
    }
    out
}

/// The header of a query result: separator, column names, separator.
pub fn tabular_header(names: &[String], cell_width: usize) -> String {
    if names.is_empty() {
        return String::new();
    }
    let sep = separator(cell_width, names.len());
    format!("{sep}\n{}\n{sep}", tabular_row(names, cell_width, true))
}

fn split_fixed(value: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = value.chars().collect();
    if chars.is_empty() {
        return vec![" ".repeat(width)];
    }
    chars
        .chunks(width.max(1))
        .map(|c| pad(&c.iter().collect::<String>(), width))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_layout_matches_ksqldb() {
        let t = Table::new(["Message"]).row(["Success Message"]);
        assert_eq!(
            t.render(None),
            " Message         \n-----------------\n Success Message \n-----------------\n"
        );
        let t = Table::new([
            "Stream Name",
            "Kafka Topic",
            "Key Format",
            "Value Format",
            "Windowed",
        ])
        .row(["A", "t1", "JSON", "JSON", "true"])
        .row(["B", "t2", "KAFKA", "AVRO", "false"]);
        let expected = concat!(
            " Stream Name | Kafka Topic | Key Format | Value Format | Windowed \n",
            "------------------------------------------------------------------\n",
            " A           | t1          | JSON       | JSON         | true     \n",
            " B           | t2          | KAFKA      | AVRO         | false    \n",
            "------------------------------------------------------------------\n",
        );
        assert_eq!(t.render(Some(200)), expected);
        // The dashes stop at the terminal's width.
        assert!(t.render(Some(10)).contains("\n----------\n"));
    }

    #[test]
    fn empty_headers_print_only_lines() {
        let t = Table::default().header_line("a").footer("b");
        assert_eq!(t.render(None), "a\nb\n");
    }

    #[test]
    fn tabular_rows() {
        let w = cell_width(80, 2, 0);
        assert_eq!(w, 38);
        assert_eq!(cell_width(8, 4, 0), 5);
        assert_eq!(cell_width(80, 2, 7), 7);
        let names = vec!["ID".to_string(), "NAME".to_string()];
        assert_eq!(
            tabular_header(&names, 6),
            "+------+------+\n|ID    |NAME  |\n+------+------+"
        );
        let row = vec!["1".to_string(), "abcdefghij".to_string()];
        assert_eq!(
            tabular_row(&row, 6, true),
            "|1     |abcdef|\n|      |ghij  |"
        );
        assert_eq!(tabular_row(&row, 6, false), "|1     |abc...|");
        assert_eq!(tabular_row(&["".to_string()], 5, true), "|     |");
    }
}
