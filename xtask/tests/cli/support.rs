//! What several files of tests use: the xtask binary run in this
//! checkout and the target dir it was built in, its exit-2 error line,
//! reports dirs holding old files, git with a fixed identity, tiny
//! workspaces, and a few wasm helpers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

pub(crate) fn xtask(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    // The target dir the tests were built in, so xtask's own builds reuse
    // it; a test that wants another sets CARGO_TARGET_DIR after this.
    cmd.args(args)
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", cargo_target_dir());
    cmd
}

pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `text` to `path` as an executable script.
pub(crate) fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Exit 2 with an `error:` line that contains each of `words`.
pub(crate) fn assert_could_not_run(out: &Output, words: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in: {err}"));
    for w in words {
        assert!(
            line.contains(w),
            "error line {line:?} does not mention {w:?}"
        );
    }
    assert!(!err.contains("panicked"), "{err}");
}

/// The target dir this test binary was built in. `cargo xtask test` passes
/// it as `--target-dir`, never as CARGO_TARGET_DIR (see ops::env::cache), so it
/// is read from cargo's compile-time `CARGO_TARGET_TMPDIR` (`<target>/tmp`).
pub(crate) fn cargo_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A reports dir holding an old `size.json`, to check it survives failures.
pub(crate) fn reports_with_old_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("size.json"), "old report").unwrap();
    dir
}

pub(crate) fn assert_old_files_intact(dir: &Path) {
    assert_eq!(
        std::fs::read_to_string(dir.join("size.json")).unwrap(),
        "old report"
    );
    assert!(!dir.join("size.md").exists());
}

/// `git` in `dir` with a fixed identity and dates, whatever the caller's
/// env: the function the unit tests use, from its file.
#[path = "../../src/testing/git.rs"]
mod fixed_git;
pub(crate) use fixed_git::git as history_git;

/// A workspace with one wasm package, `name`, whose binary prints `name`.
pub(crate) fn write_tiny_workspace(root: &Path, name: &str) {
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let _ = std::fs::remove_dir_all(root.join("app"));
    write(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"app\"]\n\n\
         [profile.release]\nopt-level = \"z\"\nlto = true\ncodegen-units = 1\n\
         panic = \"abort\"\nstrip = \"debuginfo\"\n",
    );
    write(
        "app/Cargo.toml",
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [package.metadata.cortex]\nwasm = true\n"
        ),
    );
    write(
        "app/src/main.rs",
        &format!("fn main() {{\n    println!(\"{name}\");\n}}\n"),
    );
    write(".gitignore", "/target\n");
}

/// Adds `line` (`name = "version"`, say) as the only dependency of the
/// tiny workspace's app at `root`.
pub(crate) fn add_tiny_dependency(root: &Path, line: &str) {
    let manifest = root.join("app/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let with = text.replace(
        "[package.metadata.cortex]",
        &format!("[dependencies]\n{line}\n\n[package.metadata.cortex]"),
    );
    assert_ne!(with, text, "the tiny workspace's manifest changed shape");
    std::fs::write(&manifest, with).unwrap();
}

/// The model a treemap page holds, from its JSON script element.
pub(crate) fn treemap_data(page: &Path) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let open = "<script type=\"application/json\" id=\"treemap-data\">";
    let start = html.find(open).expect("the page holds its data") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

pub(crate) fn leb128_len(mut n: u64) -> u64 {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// A WASI command whose `_start` calls `proc_exit(code)`, assembled by hand:
/// section id, LEB128 length, contents.
pub(crate) fn proc_exit_module(code: u8) -> Vec<u8> {
    fn section(id: u8, contents: &[u8]) -> Vec<u8> {
        assert!(contents.len() < 0x80, "one-byte LEB128 lengths only");
        [&[id, contents.len() as u8][..], contents].concat()
    }
    fn name(s: &str) -> Vec<u8> {
        [&[s.len() as u8][..], s.as_bytes()].concat()
    }
    assert!(code < 0x40, "one-byte signed LEB128 constants only");
    let types = [2, 0x60, 1, 0x7f, 0, 0x60, 0, 0]; // (i32) -> (), () -> ()
    let imports = [
        &[1][..],
        &name("wasi_snapshot_preview1"),
        &name("proc_exit"),
        &[0x00, 0], // a function of type 0
    ]
    .concat();
    let functions = [1, 1]; // one function, of type 1
    let memory = [1, 0x00, 1]; // one memory, at least one page (WASI needs one)
    let exports = [
        &[2][..],
        &name("_start"),
        &[0x00, 1], // function 1 (0 is the import)
        &name("memory"),
        &[0x02, 0],
    ]
    .concat();
    // i32.const code; call 0; end
    let body = [0, 0x41, code, 0x10, 0, 0x0b];
    let code_section = [&[1, body.len() as u8][..], &body].concat();
    [
        &b"\0asm\x01\0\0\0"[..],
        &section(1, &types),
        &section(2, &imports),
        &section(3, &functions),
        &section(5, &memory),
        &section(7, &exports),
        &section(10, &code_section),
    ]
    .concat()
}

/// The wasm packages built (warm after the first run) and a new reports
/// dir blessed from them: a baseline and every report file exist.
pub(crate) fn blessed_reports() -> tempfile::TempDir {
    let built = run(&mut xtask(&["build-wasm"]));
    assert!(built.status.success(), "{}", stderr(&built));
    let reports = tempfile::tempdir().unwrap();
    let first =
        run(xtask(&["size-report", "--no-build", "--bless", "--reports-dir"]).arg(reports.path()));
    assert!(first.status.success(), "{}", stderr(&first));
    reports
}
