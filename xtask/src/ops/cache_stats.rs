//! What a compiler cache did during a run: the wrapper in `RUSTC_WRAPPER`
//! and, for sccache, its hit and miss counts (`sccache --show-stats
//! --stats-format=json`), read before and after.

use std::path::Path;

use serde::{Deserialize, Serialize};
use xshell::{cmd, Shell};

/// `RUSTC_WRAPPER`, when set and not empty.
pub fn rustc_wrapper() -> Option<String> {
    std::env::var("RUSTC_WRAPPER")
        .ok()
        .filter(|w| !w.is_empty())
}

/// How a report names the cache setting: `none`, or the wrapper's file
/// name (`sccache`).
pub fn cache_label(wrapper: Option<&str>) -> String {
    match wrapper {
        None => "none".to_owned(),
        Some(w) => Path::new(w)
            .file_stem()
            .map_or_else(|| w.to_owned(), |s| s.to_string_lossy().into_owned()),
    }
}

/// Compilations the cache served and did not, summed over languages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub hits: u64,
    pub misses: u64,
}

impl Counts {
    /// What happened between `self` (before) and `after`.
    pub fn since(self, after: Counts) -> Counts {
        Counts {
            hits: after.hits.saturating_sub(self.hits),
            misses: after.misses.saturating_sub(self.misses),
        }
    }
}

/// The counts of the sccache server `wrapper` talks to, if `wrapper` is
/// sccache and answers; `None` for any other wrapper.
pub fn sccache_counts(sh: &Shell, wrapper: &str) -> Option<Counts> {
    if cache_label(Some(wrapper)) != "sccache" {
        return None;
    }
    let json = cmd!(sh, "{wrapper} --show-stats --stats-format=json")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()?;
    parse_sccache_stats(&json)
}

/// Hits and misses from `sccache --show-stats --stats-format=json`:
/// `stats.cache_hits.counts` and `stats.cache_misses.counts`, per language.
pub fn parse_sccache_stats(json: &str) -> Option<Counts> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let sum = |key: &str| -> Option<u64> {
        let counts = v["stats"][key]["counts"].as_object()?;
        Some(counts.values().filter_map(serde_json::Value::as_u64).sum())
    };
    Some(Counts {
        hits: sum("cache_hits")?,
        misses: sum("cache_misses")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sccache_stats_are_summed_over_languages() {
        let json = r#"{"stats": {"compile_requests": 14,
            "cache_hits": {"counts": {"Rust": 9, "C/C++": 2}, "adv_counts": {}},
            "cache_misses": {"counts": {"Rust": 3}, "adv_counts": {}}},
            "version": "0.16.0"}"#;
        let c = parse_sccache_stats(json).unwrap();
        assert_eq!(
            c,
            Counts {
                hits: 11,
                misses: 3
            }
        );
        let before = Counts { hits: 4, misses: 1 };
        assert_eq!(before.since(c), Counts { hits: 7, misses: 2 });
        let empty = r#"{"stats": {"cache_hits": {"counts": {}}, "cache_misses": {"counts": {}}}}"#;
        assert_eq!(parse_sccache_stats(empty), Some(Counts::default()));
        assert_eq!(parse_sccache_stats("not json"), None);
        assert_eq!(parse_sccache_stats("{}"), None);
    }

    #[test]
    fn cache_is_named_by_the_wrappers_file_name() {
        assert_eq!(cache_label(None), "none");
        assert_eq!(cache_label(Some("/root/.cargo/bin/sccache")), "sccache");
        assert_eq!(cache_label(Some("sccache.exe")), "sccache");
        assert_eq!(cache_label(Some("ccache")), "ccache");
    }
}
