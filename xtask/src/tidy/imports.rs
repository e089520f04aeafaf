//! The paths a source file names, read as the compiler reads them: each
//! `use` item expanded into the full paths it imports (`use a::{b, c::d as
//! e}` is `a::b` and `a::c::d`), and each `crate::…`, `super::…` or
//! `self::…` path written in code, all resolved to `crate::…` against the
//! module the file (or an inline `mod` in it) is. Comments, strings and
//! character literals are skipped: a path in a message or a doc names
//! nothing.
//!
//! A path that starts with any other name is left out: an extern crate
//! (`std`, `wasm_size`), or a name a `use` brought into scope, whose own
//! path is read where it was imported, or a child module, which sits in
//! the file's own folder.

use std::path::Path;

/// A path by its segments, `["crate", "ops", "build"]`; a glob import
/// ends in `"*"`.
pub(super) type Named = Vec<String>;

/// The module a file under `src/` is: `commands/bloat.rs` is
/// `commands::bloat`, `ops/build/mod.rs` is `ops::build`, `main.rs` the
/// crate root (no segment).
pub(super) fn module_of(file: &Path) -> Vec<String> {
    let mut module: Vec<String> = file
        .components()
        .map(|c| c.as_os_str().to_str().unwrap().to_owned())
        .collect();
    let last = module.pop().unwrap();
    let stem = last.strip_suffix(".rs").unwrap_or(&last);
    if !(stem == "mod" || module.is_empty() && stem == "main") {
        module.push(stem.to_owned());
    }
    module
}

/// Every path the code of the file `file` names, as `crate::…` paths.
pub(super) fn named_paths(file: &Path, code: &str) -> Vec<Named> {
    let t = tokens(code);
    let file_module = module_of(file);
    // Inline `mod name { … }` blocks around the current token, with the
    // brace depth each one closes at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut named = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let module = || {
            let inner = inline.iter().map(|(name, _)| name.clone());
            file_module.iter().cloned().chain(inner).collect::<Vec<_>>()
        };
        match &t[i] {
            Token::Ident(kw) if kw == "use" => {
                let mut paths = Vec::new();
                i = use_tree(&t, i + 1, Vec::new(), &mut paths);
                let module = module();
                named.extend(paths.into_iter().filter_map(|p| resolve(&module, p)));
            }
            Token::Ident(kw) if kw == "mod" => {
                if let (Some(Token::Ident(name)), Some(Token::Punct('{'))) =
                    (t.get(i + 1), t.get(i + 2))
                {
                    depth += 1;
                    inline.push((name.clone(), depth));
                    i += 3;
                } else {
                    i += 1;
                }
            }
            Token::Ident(first)
                if matches!(first.as_str(), "crate" | "super" | "self")
                    && t.get(i + 1) == Some(&Token::PathSep) =>
            {
                let mut path = vec![first.clone()];
                i += 1;
                while t.get(i) == Some(&Token::PathSep) {
                    let Some(Token::Ident(segment)) = t.get(i + 1) else {
                        break; // `::<T>`, a turbofish
                    };
                    path.push(segment.clone());
                    i += 2;
                }
                named.extend(resolve(&module(), path));
            }
            Token::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Token::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    named
}

/// The paths of the use tree at `t[i..]`, each after `path`, into `out`;
/// returns the index after the tree.
fn use_tree(t: &[Token], mut i: usize, mut path: Vec<String>, out: &mut Vec<Named>) -> usize {
    // `use ::std::…`: an extern crate, as a bare first name is.
    if path.is_empty() && t.get(i) == Some(&Token::PathSep) {
        i += 1;
    }
    loop {
        match t.get(i) {
            Some(Token::Ident(segment)) => {
                path.push(segment.clone());
                i += 1;
            }
            Some(Token::Punct('*')) => {
                path.push("*".to_owned());
                out.push(path);
                return i + 1;
            }
            Some(Token::Punct('{')) => {
                i += 1;
                while i < t.len() && t[i] != Token::Punct('}') {
                    let next = use_tree(t, i, path.clone(), out);
                    i = match t.get(next) {
                        Some(Token::Punct(',')) => next + 1,
                        _ if next == i => next + 1, // not a use tree: step over it
                        _ => next,
                    };
                }
                return i + 1;
            }
            _ => return i,
        }
        match t.get(i) {
            Some(Token::PathSep) => i += 1,
            next => {
                // `a::{self}` imports `a` itself.
                if path.len() > 1 && path.last().is_some_and(|s| s == "self") {
                    path.pop();
                }
                out.push(path);
                let alias = matches!(next, Some(Token::Ident(kw)) if kw == "as");
                return if alias { i + 2 } else { i };
            }
        }
    }
}

/// `path` as a `crate::…` path, read in `module`; `None` for a path that
/// starts with another name, or climbs above the crate.
fn resolve(module: &[String], path: Vec<String>) -> Option<Named> {
    let mut segments = path.into_iter().peekable();
    let mut full = match segments.peek()?.as_str() {
        "crate" => {
            segments.next();
            Vec::new()
        }
        "self" => {
            segments.next();
            module.to_vec()
        }
        "super" => {
            let mut up = module.to_vec();
            while segments.next_if(|s| s == "super").is_some() {
                up.pop()?;
            }
            up
        }
        _ => return None,
    };
    full.extend(segments);
    full.insert(0, "crate".to_owned());
    Some(full)
}

#[derive(Debug, PartialEq)]
enum Token {
    /// A name or keyword; a raw identifier keeps its `r#`, so `r#use` is
    /// no keyword.
    Ident(String),
    /// `::`.
    PathSep,
    Punct(char),
}

/// The tokens of `code` that paths are made of, without comments,
/// strings, character literals, lifetimes and numbers.
fn tokens(code: &str) -> Vec<Token> {
    let c: Vec<char> = code.chars().collect();
    let at = |i: usize| c.get(i).copied();
    let ident_start = |ch: Option<char>| ch.is_some_and(|ch| ch.is_alphabetic() || ch == '_');
    let mut t = Vec::new();
    let mut i = 0;
    while let Some(ch) = at(i) {
        match ch {
            '/' if at(i + 1) == Some('/') => {
                while at(i).is_some_and(|ch| ch != '\n') {
                    i += 1;
                }
            }
            '/' if at(i + 1) == Some('*') => {
                let mut open = 0;
                loop {
                    match (at(i), at(i + 1)) {
                        (Some('/'), Some('*')) => (open, i) = (open + 1, i + 2),
                        (Some('*'), Some('/')) => {
                            (open, i) = (open - 1, i + 2);
                            if open == 0 {
                                break;
                            }
                        }
                        (Some(_), _) => i += 1,
                        (None, _) => break,
                    }
                }
            }
            '"' => i = past_string(&c, i + 1, None),
            '\'' => {
                i += if at(i + 1) == Some('\\') {
                    // An escape, `'\n'` or `'\u{7f}'`: up to the closing quote.
                    let close = (i + 3..c.len()).find(|&j| c[j] == '\'').unwrap_or(c.len());
                    close + 1 - i
                } else if at(i + 2) == Some('\'') {
                    3 // `'x'`
                } else {
                    1 // a lifetime: its name is read as an identifier
                };
            }
            ':' if at(i + 1) == Some(':') => {
                t.push(Token::PathSep);
                i += 2;
            }
            _ if ch.is_ascii_digit() => {
                while at(i).is_some_and(|ch| ch.is_alphanumeric() || ch == '_') {
                    i += 1;
                }
            }
            _ if ident_start(Some(ch)) => {
                let start = i;
                while at(i).is_some_and(|ch| ch.is_alphanumeric() || ch == '_') {
                    i += 1;
                }
                let word: String = c[start..i].iter().collect();
                let raw_string = matches!(word.as_str(), "r" | "br" | "cr");
                let hashes = c[i..].iter().take_while(|&&ch| ch == '#').count();
                if raw_string && at(i + hashes) == Some('"') {
                    i = past_string(&c, i + hashes + 1, Some(hashes));
                } else if word == "r" && hashes == 1 && ident_start(at(i + 1)) {
                    let start = i + 1;
                    i = start;
                    while at(i).is_some_and(|ch| ch.is_alphanumeric() || ch == '_') {
                        i += 1;
                    }
                    t.push(Token::Ident(format!(
                        "r#{}",
                        c[start..i].iter().collect::<String>()
                    )));
                } else {
                    t.push(Token::Ident(word));
                }
            }
            _ if ch.is_whitespace() => i += 1,
            _ => {
                t.push(Token::Punct(ch));
                i += 1;
            }
        }
    }
    t
}

/// The index after the string whose body starts at `c[i]`: a plain one
/// (`raw` is `None`: escapes skipped), or a raw one closed by `"` and
/// `raw` `#`.
fn past_string(c: &[char], mut i: usize, raw: Option<usize>) -> usize {
    let hashes = raw.unwrap_or(0);
    while i < c.len() {
        match c[i] {
            '\\' if raw.is_none() => i += 2,
            '"' if c[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&ch| ch == '#')
                .count()
                == hashes =>
            {
                return i + 1 + hashes;
            }
            _ => i += 1,
        }
    }
    c.len()
}

#[test]
fn use_items_expand_into_full_paths_resolved_from_the_module() {
    let code = r#"
pub(crate) use crate::{
    ops::{build::{self, Built as B}, measure}, // a comment
    util::*,
};
pub use super::{flags::BuildSelection, Outcome};
use self::inner::{Thing};
use std::path::Path;
use ::anyhow::Result;
mod inner {
    use super::super::super::util::lock;
}
fn f<'a>(s: &'a str) {
    let _ = ('\'', '"', '{', "use crate::commands::x;");
    crate::ops::build::x::<u8>();
    let _ = super::flags::X;
}
"#;
    let named: Vec<String> = named_paths(Path::new("commands/bloat/mod.rs"), code)
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(
        named,
        [
            "crate::ops::build",
            "crate::ops::build::Built",
            "crate::ops::measure",
            "crate::util::*",
            "crate::commands::flags::BuildSelection",
            "crate::commands::Outcome",
            "crate::commands::bloat::inner::Thing",
            "crate::util::lock",
            "crate::ops::build::x",
            "crate::commands::flags::X",
        ]
    );
    // Above the crate root, nothing.
    assert!(named_paths(Path::new("main.rs"), "use super::x;").is_empty());
}

#[test]
fn a_file_is_the_module_its_path_says() {
    let module = |p: &str| module_of(Path::new(p)).join("::");
    assert_eq!(module("main.rs"), "");
    assert_eq!(module("commands/bloat.rs"), "commands::bloat");
    assert_eq!(module("commands/mod.rs"), "commands");
    assert_eq!(module("ops/build/fresh.rs"), "ops::build::fresh");
}
