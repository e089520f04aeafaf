//! Output for people: aligned text tables and human sizes.

/// `1536` → `1.5 KiB`; below 1 KiB in bytes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `+1.5 KiB`, `-200 B`, `0 B`.
pub fn human_delta(delta: i64) -> String {
    let sign = match delta.signum() {
        1 => "+",
        -1 => "-",
        _ => "",
    };
    format!("{sign}{}", human_bytes(delta.unsigned_abs()))
}

/// A command's report: the text for people on stdout, or with `--json` the
/// JSON on stdout and the text on stderr, so a pipe gets the JSON alone.
pub fn print_report(text: &str, json: &str, as_json: bool) {
    if as_json {
        eprint!("{text}");
        print!("{json}");
    } else {
        print!("{text}");
    }
}

/// Pretty JSON on stdout, written as it is made: the list of every
/// function of a large module is megabytes.
pub fn print_json(value: &impl serde::Serialize) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()
}

/// The line under a table cut at its row limit: `... and 12 more
/// functions, 3.4 KiB`; without a noun or bytes, just `... and 12 more`.
pub fn and_more(count: usize, noun: Option<&str>, bytes: Option<u64>) -> String {
    let mut line = format!("... and {count} more");
    if let Some(noun) = noun {
        line.push(' ');
        line.push_str(noun);
    }
    if let Some(bytes) = bytes {
        line.push_str(", ");
        line.push_str(&human_bytes(bytes));
    }
    line.push('\n');
    line
}

/// `part` as a percentage of `whole`, one decimal; `-` when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_owned();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// `s` cut to `max` characters, the cut marked with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A table rendered as aligned columns (text) or as a Markdown table.
#[derive(Debug)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<const N: usize>(header: [&str; N]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn from_rows(header: Vec<String>, rows: Vec<Vec<String>>) -> Self {
        Self { header, rows }
    }

    pub fn row<const N: usize>(&mut self, cells: [String; N]) {
        self.rows.push(cells.to_vec());
    }

    fn widths(&self) -> Vec<usize> {
        (0..self.header.len())
            .map(|i| {
                std::iter::once(&self.header)
                    .chain(&self.rows)
                    .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Text columns; columns of numbers (and `-`) are right-aligned.
    pub fn render(&self) -> String {
        let widths = self.widths();
        let numeric: Vec<bool> = (0..self.header.len())
            .map(|i| {
                let mut cells = self.rows.iter().filter_map(|r| r.get(i));
                cells.clone().any(|c| looks_numeric(c))
                    && cells.all(|c| looks_numeric(c) || c == "-")
            })
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .zip(&numeric)
                .map(|((c, &w), &right)| {
                    if right {
                        format!("{c:>w$}")
                    } else {
                        format!("{c:<w$}")
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out
    }

    /// Like [`Table::render`], with the last column shortened so that
    /// lines stay near `columns` characters (at least 40 are left for it).
    pub fn render_fitted(mut self, columns: usize) -> String {
        let widths = self.widths();
        let fixed: usize = widths[..widths.len().saturating_sub(1)]
            .iter()
            .map(|w| w + 2)
            .sum();
        let room = columns.saturating_sub(fixed).max(40);
        for row in &mut self.rows {
            if let Some(last) = row.last_mut() {
                *last = truncate(last, room);
            }
        }
        self.render()
    }

    pub fn render_markdown(&self) -> String {
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let mut out = line(&self.header);
        let rule: Vec<String> = self.header.iter().map(|_| "---".to_owned()).collect();
        out.push_str(&line(&rule));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

fn looks_numeric(cell: &str) -> bool {
    cell.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-')
        && cell.chars().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_use_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(93 * 1024 + 400), "93.4 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(human_delta(-2048), "-2.0 KiB");
        assert_eq!(human_delta(10), "+10 B");
        assert_eq!(human_delta(0), "0 B");
    }

    #[test]
    fn cut_tables_say_how_much_is_left() {
        assert_eq!(and_more(3, None, None), "... and 3 more\n");
        assert_eq!(
            and_more(12, Some("functions"), Some(2048)),
            "... and 12 more functions, 2.0 KiB\n"
        );
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(1, 0), "-");
    }

    #[test]
    fn text_table_aligns_columns() {
        let mut t = Table::new(["name", "size"]);
        t.row(["a".into(), "1.0 KiB".into()]);
        t.row(["long-name".into(), "10 B".into()]);
        assert_eq!(
            t.render(),
            "name          size\na          1.0 KiB\nlong-name     10 B\n"
        );
        assert!(t
            .render_markdown()
            .starts_with("| name | size |\n| --- | --- |\n"));
    }
}
