//! What every benchmark report shares: where, when and how its figures were
//! taken ([`Conditions`]), and how it is written ([`write`]): JSON and
//! Markdown in the reports dir, then the table, or the JSON, on stdout.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use xshell::Shell;

use crate::ops::env::provenance::Provenance;
use crate::ops::env::workspace::Workspace;
use crate::util::files::write_atomic;
use wasm_size::table::print_report;

/// The toolchain, commit, date and machine, the load on it, and the
/// command that reproduces the figures. Flattened into each report's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    #[serde(flatten)]
    pub provenance: Provenance,
    /// The 1, 5 and 15 minute load averages when the benchmark started
    /// (Linux): other work on the machine slows every figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_average: Option<[f64; 3]>,
    /// The command that reproduces the report.
    #[serde(default)]
    pub command: String,
}

impl Conditions {
    /// Read now, when the measurement starts; the command is this process's.
    pub fn now(sh: &Shell, ws: &Workspace) -> Self {
        Self {
            provenance: Provenance::read(sh, ws),
            load_average: load_average(),
            command: reproduce_command(std::env::args().skip(1)),
        }
    }

    /// One line for a report's Markdown: `rustc · commit · date · cores ·
    /// load`, then how to reproduce it.
    pub fn markdown(&self) -> String {
        let p = &self.provenance;
        let load = self.load_average.map_or("unknown".to_owned(), |l| {
            format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2])
        });
        format!(
            "{} · commit `{}` · {} · {} cores · load average {load}\n\nReproduce with `{}`.\n",
            p.rustc, p.commit, p.date, p.cores, self.command
        )
    }
}

/// The load averages from `/proc/loadavg`, where there is one.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// `cargo xtask` and `args` (this process's, after the program name),
/// quoted for a POSIX shell.
pub fn reproduce_command(args: impl IntoIterator<Item = String>) -> String {
    let mut words = vec!["cargo".to_owned(), "xtask".to_owned()];
    for arg in args {
        let plain = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c));
        words.push(if plain {
            arg
        } else {
            format!("'{}'", arg.replace('\'', r"'\''"))
        });
    }
    words.join(" ")
}

/// Writes `<dir>/<stem>.json` (the report) and `<dir>/<stem>.md`
/// (`markdown`), each atomically, then prints `text` and where they went,
/// or with `json` the JSON alone on stdout.
pub fn write<T: Serialize>(
    dir: &Path,
    stem: &str,
    report: &T,
    markdown: &str,
    text: &str,
    json: bool,
) -> Result<()> {
    let out = serde_json::to_string_pretty(report)? + "\n";
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (md_path, json_path) = (
        dir.join(format!("{stem}.md")),
        dir.join(format!("{stem}.json")),
    );
    write_atomic(&json_path, out.as_bytes())?;
    write_atomic(&md_path, markdown.as_bytes())?;
    let text = format!(
        "{text}wrote {} and {}\n",
        md_path.display(),
        json_path.display()
    );
    print_report(&text, &out, json);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduce_command_quotes_what_the_shell_would_split() {
        let args = [
            "bench-build",
            "--runs",
            "5",
            "--reports-dir",
            "/tmp/my reports",
            "it's",
        ];
        assert_eq!(
            reproduce_command(args.map(String::from)),
            r"cargo xtask bench-build --runs 5 --reports-dir '/tmp/my reports' 'it'\''s'"
        );
    }

    #[test]
    fn conditions_flatten_into_the_reports_json_and_read_back() {
        let c = Conditions {
            provenance: Provenance {
                rustc: "rustc 1".into(),
                commit: "abc".into(),
                date: "2030-01-01T00:00:00Z".into(),
                cores: 2,
            },
            load_average: Some([0.5, 0.25, 0.125]),
            command: "cargo xtask bench-runtime".into(),
        };
        let json = serde_json::to_value(&c).unwrap();
        for key in [
            "rustc",
            "commit",
            "date",
            "cores",
            "load_average",
            "command",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        let back: Conditions = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
        let md = c.markdown();
        assert!(md.contains("load average 0.50 0.25 0.12"), "{md}");
        assert!(md.contains("`cargo xtask bench-runtime`"), "{md}");
    }

    #[test]
    fn write_leaves_both_files_and_refuses_a_directory_in_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let report = serde_json::json!({"rows": [1, 2]});
        write(dir.path(), "bench", &report, "# md\n", "table\n", false).unwrap();
        let json = std::fs::read_to_string(dir.path().join("bench.json")).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json).unwrap(),
            report
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("bench.md")).unwrap(),
            "# md\n"
        );
        std::fs::create_dir(dir.path().join("other.json")).unwrap();
        assert!(write(dir.path(), "other", &report, "", "", false).is_err());
        assert!(
            !dir.path().join("other.md").exists(),
            "half a report written"
        );
    }
}
