//! The manual: every `cargo xtask …` that the README or a page under
//! `docs/` shows, in a code block or inline, names a command and flags
//! that xtask's own clap definition has.

use std::path::{Path, PathBuf};

use super::xtask_cli;

/// The README and every page under `docs/`, by their path from the
/// workspace root.
fn doc_pages() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut pages = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| p.strip_prefix(root).unwrap().to_owned())
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(root.join(&p)).unwrap();
            (p, text)
        })
        .collect()
}

/// A piece of code in a Markdown page: a fenced block's body, where a
/// newline ends a command, or an inline code span, which may run over
/// several lines of its paragraph.
struct Code<'a> {
    /// Byte offset of `text` in the page.
    start: usize,
    text: &'a str,
    fenced: bool,
}

/// The fenced blocks and inline code spans of `page`.
fn code_of(page: &str) -> Vec<Code<'_>> {
    let mut code = Vec::new();
    let mut fence_body: Option<usize> = None;
    let mut paragraph: Option<usize> = None;
    let mut offset = 0;
    for line in page.split_inclusive('\n') {
        let is_fence = line.trim_start().starts_with("```");
        if let Some(body) = fence_body {
            if is_fence {
                code.push(Code {
                    start: body,
                    text: &page[body..offset],
                    fenced: true,
                });
                fence_body = None;
            }
        } else if is_fence || line.trim().is_empty() {
            if let Some(p) = paragraph.take() {
                code.extend(spans(page, p, offset));
            }
            if is_fence {
                fence_body = Some(offset + line.len());
            }
        } else if paragraph.is_none() {
            paragraph = Some(offset);
        }
        offset += line.len();
    }
    if let Some(p) = paragraph {
        code.extend(spans(page, p, page.len()));
    }
    code
}

/// The inline code spans of `page[from..to]`: a run of backticks up to the
/// next run of the same length.
fn spans(page: &str, from: usize, to: usize) -> Vec<Code<'_>> {
    let b = page.as_bytes();
    let run = |i: usize| b[i..to].iter().take_while(|&&c| c == b'`').count();
    let mut found = Vec::new();
    let mut i = from;
    while i < to {
        match b[i] {
            b'\\' => i += 2,
            b'`' => {
                let n = run(i);
                let mut j = i + n;
                let mut close = None;
                while j < to {
                    if b[j] == b'`' {
                        let m = run(j);
                        if m == n {
                            close = Some(j);
                            break;
                        }
                        j += m;
                    } else {
                        j += 1;
                    }
                }
                match close {
                    Some(j) => {
                        found.push(Code {
                            start: i + n,
                            text: &page[i + n..j],
                            fenced: false,
                        });
                        i = j + n;
                    }
                    None => i += n,
                }
            }
            _ => i += 1,
        }
    }
    found
}

/// A word of a command as the page shows it.
#[derive(Debug, Default, PartialEq)]
struct Word {
    text: String,
    /// Stands for something: `<…>`, `…`, `[optional]`, `a|b`, `$(…)`.
    placeholder: bool,
}

/// A `cargo xtask …` command shown in a page.
#[derive(Debug)]
struct Shown {
    line: usize,
    text: String,
    words: Vec<Word>,
}

/// Every `cargo xtask …` command in `page`, in order.
fn shown_commands(page: &str) -> Vec<Shown> {
    const CALL: &str = "cargo xtask";
    let mut shown = Vec::new();
    for code in code_of(page) {
        // Offsets stay those of the page: a continuation becomes two spaces.
        let text = if code.fenced {
            code.text.replace("\\\n", "  ")
        } else {
            code.text.replace('\n', " ")
        };
        for (at, _) in text.match_indices(CALL) {
            let before = text[..at].chars().next_back();
            let after = text[at + CALL.len()..].chars().next();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
                || after.is_some_and(|c| !c.is_whitespace())
            {
                continue;
            }
            let rest = &text[at + CALL.len()..];
            let (words, len) = words(rest);
            let end = at + CALL.len() + len;
            let start = code.start + at;
            shown.push(Shown {
                line: page[..start].matches('\n').count() + 1,
                text: text[at..end]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                words,
            });
        }
    }
    shown
}

/// The words of a shell command, and the length of `s` they take: up to a
/// newline, `;`, `&&`, `||`, a pipe, a redirection, a comment, or the `)`
/// of a `$(…)` around the command. `\|` (a table's escaped bar) and `|`
/// inside brackets are alternatives, not pipes.
fn words(s: &str) -> (Vec<Word>, usize) {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut words = Vec::new();
    let mut word: Option<Word> = None;
    let mut brackets = 0usize;
    let mut k = 0;
    let end = loop {
        let Some(&(i, c)) = chars.get(k) else {
            break s.len();
        };
        let next = chars.get(k + 1).map(|&(_, c)| c);
        let redirect = c == '>'
            && word
                .as_ref()
                .is_none_or(|w| w.text.chars().all(|c| c.is_ascii_digit() || c == '&'));
        let ends = match c {
            '\n' | ';' | ')' => true,
            '&' | '|' if next == Some(c) => true,
            '|' => brackets == 0,
            '#' => word.is_none(),
            _ => redirect,
        };
        if ends {
            if redirect {
                word = None;
            }
            break i;
        }
        k += 1;
        if c.is_whitespace() {
            words.extend(word.take());
            continue;
        }
        let w = word.get_or_insert_with(Word::default);
        match c {
            '\\' => {
                if let Some(n) = next {
                    w.text.push(n);
                    w.placeholder |= n == '|';
                    k += 1;
                }
            }
            '\'' | '"' => {
                while let Some(&(_, q)) = chars.get(k) {
                    k += 1;
                    if q == c {
                        break;
                    }
                    w.placeholder |= q == '$';
                    w.text.push(q);
                }
            }
            '$' => {
                w.placeholder = true;
                w.text.push(c);
                if next == Some('(') {
                    let mut depth = 0;
                    while let Some(&(_, p)) = chars.get(k) {
                        k += 1;
                        w.text.push(p);
                        depth += usize::from(p == '(');
                        depth -= usize::from(p == ')');
                        if depth == 0 {
                            break;
                        }
                    }
                }
            }
            _ => {
                if c == '[' {
                    brackets += 1;
                } else if c == ']' {
                    brackets = brackets.saturating_sub(1);
                }
                w.placeholder |= matches!(c, '[' | ']' | '<' | '>' | '|' | '…');
                w.text.push(c);
            }
        }
    };
    words.extend(word);
    for w in &mut words {
        w.placeholder |= w.text.contains("...");
    }
    (words, end)
}

/// What is wrong with a shown command, if anything. Parsed by clap when
/// it has no placeholder; otherwise (or when the only complaint is a
/// metavariable such as `N` where a number goes) its command and flag
/// names are looked up.
fn check_shown(cli: &clap::Command, words: &[Word]) -> Vec<String> {
    use clap::error::ErrorKind;
    // A command named in passing (`cargo xtask bloat`) needs only exist.
    if words.len() <= 1 || words.iter().any(|w| w.placeholder) {
        return check_names(cli, words);
    }
    let argv = std::iter::once("cargo xtask").chain(words.iter().map(|w| w.text.as_str()));
    let Err(e) = cli.clone().try_get_matches_from(argv) else {
        return Vec::new();
    };
    let metavariable = |w: &Word| {
        let stem = w.text.split('.').next().unwrap();
        stem.chars().any(|c| c.is_ascii_uppercase())
            && stem
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "_/=:".contains(c))
    };
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Vec::new(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation if words.iter().any(metavariable) => {
            check_names(cli, words)
        }
        kind => {
            let names = check_names(cli, words);
            if matches!(
                kind,
                ErrorKind::UnknownArgument | ErrorKind::InvalidSubcommand
            ) && !names.is_empty()
            {
                return names;
            }
            let message = e.to_string();
            let first = message.lines().next().unwrap_or_default();
            vec![first.trim_start_matches("error: ").to_owned()]
        }
    }
}

/// The command and flag names of `words` that xtask does not have. Words
/// are read loosely: `[--flag`, `--a|--b`, `--flag=value`, `-n15`.
fn check_names(cli: &clap::Command, words: &[Word]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut sub: Option<&clap::Command> = None;
    let mut value_next = false;
    for w in words {
        if w.text == "--" {
            break;
        }
        if std::mem::take(&mut value_next) {
            continue;
        }
        let t = w
            .text
            .trim_start_matches(['[', '('])
            .trim_end_matches([']', ')', '.', '…', ',']);
        if t == "--" {
            break;
        }
        let pieces: Vec<&str> = t.split('|').collect();
        let alone = pieces.len() == 1;
        for piece in pieces {
            let on = || match sub {
                Some(s) => format!("`cargo xtask {}`", s.get_name()),
                None => "`cargo xtask`".to_owned(),
            };
            if let Some(long) = piece.strip_prefix("--") {
                let (name, value) = match long.split_once('=') {
                    Some((name, _)) => (name, true),
                    None => (long, false),
                };
                match find_arg(cli, sub, |a| a.get_long() == Some(name)) {
                    Some(a) => value_next = alone && !value && a.get_action().takes_values(),
                    None => problems.push(format!("unknown flag `--{name}` for {}", on())),
                }
            } else if let Some(shorts) = piece.strip_prefix('-') {
                if !shorts.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    continue;
                }
                for (i, c) in shorts.char_indices() {
                    match find_arg(cli, sub, |a| a.get_short() == Some(c)) {
                        Some(a) if a.get_action().takes_values() => {
                            value_next = alone && i + c.len_utf8() == shorts.len();
                            break;
                        }
                        Some(_) => {}
                        None => {
                            problems.push(format!("unknown flag `-{c}` for {}", on()));
                            break;
                        }
                    }
                }
            } else if sub.is_none() {
                if w.placeholder || piece.is_empty() {
                    return problems;
                }
                match cli.find_subcommand(piece) {
                    Some(s) => sub = Some(s),
                    None => {
                        problems.push(format!("unknown command `{piece}`"));
                        return problems;
                    }
                }
            }
        }
    }
    problems
}

/// The argument of `sub` (or of the top command, before one) that `is`
/// picks; a global argument counts everywhere.
fn find_arg<'a>(
    cli: &'a clap::Command,
    sub: Option<&'a clap::Command>,
    is: impl Fn(&clap::Arg) -> bool,
) -> Option<&'a clap::Arg> {
    let own = sub.unwrap_or(cli).get_arguments().find(|a| is(a));
    own.or_else(|| {
        cli.get_arguments()
            .find(|a| (sub.is_none() || a.is_global_set()) && is(a))
    })
}

/// Every problem of the `cargo xtask …` commands in `page`, each as
/// `file:line: `command`: problem`.
fn check_page(cli: &clap::Command, path: &Path, page: &str) -> Vec<String> {
    shown_commands(page)
        .into_iter()
        .flat_map(|shown| {
            check_shown(cli, &shown.words)
                .into_iter()
                .map(move |p| format!("{}:{}: `{}`: {p}", path.display(), shown.line, shown.text))
        })
        .collect()
}

#[test]
fn every_cargo_xtask_line_in_the_docs_names_a_command_and_flags_that_exist() {
    let cli = xtask_cli();
    let mut problems = Vec::new();
    for (path, page) in doc_pages() {
        if path == Path::new("README.md") {
            let first: Vec<_> = shown_commands(&page)
                .into_iter()
                .take(2)
                .map(|s| s.text)
                .collect();
            assert_eq!(
                first,
                ["cargo xtask size-report", "cargo xtask test"],
                "the README shows its two commands first"
            );
        }
        problems.extend(check_page(&cli, &path, &page));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_docs_check_names_the_file_line_and_unknown_command_or_flag() {
    let page = "\
# A page

```sh
cargo xtask size-report --no-such-flag && cargo xtask no-such-command --json
cargo xtask size-report --check \\
  --against HEAD --nope   # a comment --not-a-flag
cargo xtask bloat -p wasm-demo -n 15 | head
echo \"$(cargo xtask size-diff a.json b.json --json)\" > out
```

Inline, over two lines: `cargo xtask bloat [--garbage \\| --no-such-either]
<FILE>`, `cargo xtask --cache sccache …`, `cargo xtask <step>` and
`cargo xtask bench-build [-p PKG]... [-x] [--runs N]`.
";
    let cli = xtask_cli();
    let problems = check_page(&cli, Path::new("docs/page.md"), page);
    let expected = [
        "docs/page.md:4: `cargo xtask size-report --no-such-flag`: \
         unknown flag `--no-such-flag` for `cargo xtask size-report`",
        "docs/page.md:4: `cargo xtask no-such-command --json`: unknown command `no-such-command`",
        "docs/page.md:5: `cargo xtask size-report --check --against HEAD --nope`: \
         unknown flag `--nope` for `cargo xtask size-report`",
        "docs/page.md:11: `cargo xtask bloat [--garbage \\| --no-such-either] <FILE>`: \
         unknown flag `--no-such-either` for `cargo xtask bloat`",
        "docs/page.md:13: `cargo xtask bench-build [-p PKG]... [-x] [--runs N]`: \
         unknown flag `-x` for `cargo xtask bench-build`",
    ];
    assert_eq!(problems, expected);
    // What clap itself refuses on a concrete line, it says.
    let conflict = check_page(
        &cli,
        Path::new("README.md"),
        "`cargo xtask size-report --check --bless`",
    );
    assert_eq!(conflict.len(), 1, "{conflict:?}");
    assert!(conflict[0].starts_with("README.md:1: `cargo xtask size-report --check --bless`: "));
    assert!(conflict[0].contains("--bless"), "{conflict:?}");
}
