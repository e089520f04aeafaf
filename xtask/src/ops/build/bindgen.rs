//! Browser bindings through the `wasm-bindgen-cli-support` crate (no
//! `wasm-bindgen` binary to install, the way `-Oz` runs through the
//! wasm-opt crate): from a `wasm32-unknown-unknown` build of a wasm-bindgen
//! crate, the `--target web` ES module a page imports with no bundler, and
//! the `.wasm` it loads.
//!
//! The generator reads what the `wasm-bindgen` macro wrote into the
//! `.wasm`, and refuses another version's schema with a page of text.
//! Both crates are pinned exactly in `[workspace.dependencies]`, and a
//! mismatch is one line here, before any work: [`check_lock`] on the
//! workspace's `Cargo.lock` (before a build), and [`bindgen`] on the
//! `.wasm` itself.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use wasmparser::{Parser, Payload};

/// The custom section where the `wasm-bindgen` macro leaves its programs,
/// each prefixed with `{"schema_version":"…","version":"…"}`.
const SECTION: &str = "__wasm_bindgen_unstable";

/// What [`bindgen`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bindings {
    /// `<name>_bg.wasm`: the module, with its imports now the ES module's.
    pub wasm: PathBuf,
    /// `<name>.js`: the ES module; its default export `init()` fetches and
    /// instantiates the `.wasm` beside it.
    pub js: PathBuf,
}

/// Writes `<name>_bg.wasm` and `<name>.js` (`--target web`, no TypeScript)
/// into `out_dir` from `input_wasm`, a `wasm32-unknown-unknown` build.
/// Symbol names are left as rustc mangled them, as in every other `.wasm`
/// xtask attributes.
pub fn bindgen(input_wasm: &Path, out_dir: &Path, name: &str) -> Result<Bindings> {
    let bytes = std::fs::read(input_wasm)
        .with_context(|| format!("cannot read {}", input_wasm.display()))?;
    let Some(built_with) = macro_version(&bytes)? else {
        bail!(
            "{} has no wasm-bindgen section: build a crate that uses the `wasm-bindgen` \
             crate, for wasm32-unknown-unknown",
            input_wasm.display()
        );
    };
    check_version(
        &built_with,
        &generator_version(),
        &input_wasm.display().to_string(),
    )?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_bytes(name, bytes)
        .web(true)?
        .typescript(false)
        .omit_default_module_path(false)
        .demangle(false)
        .generate(out_dir)
        .with_context(|| {
            format!(
                "cannot generate the bindings of {} in {}",
                input_wasm.display(),
                out_dir.display()
            )
        })?;
    Ok(Bindings {
        wasm: out_dir.join(format!("{name}_bg.wasm")),
        js: out_dir.join(format!("{name}.js")),
    })
}

/// Checks that every `wasm-bindgen` in `lock` (the text of a `Cargo.lock`)
/// is the generator's version: before a build, so a mismatch costs no
/// build. A lock without `wasm-bindgen` passes.
pub fn check_lock(lock: &str) -> Result<()> {
    let lock: toml::Table = toml::from_str(lock).context("cannot parse Cargo.lock")?;
    let packages = lock.get("package").and_then(|p| p.as_array());
    for package in packages.into_iter().flatten() {
        if package.get("name").and_then(|n| n.as_str()) != Some("wasm-bindgen") {
            continue;
        }
        let version = package.get("version").and_then(|v| v.as_str());
        check_version(
            version.unwrap_or("(no version)"),
            &generator_version(),
            "Cargo.lock",
        )?;
    }
    Ok(())
}

/// The version of the linked `wasm-bindgen-cli-support`: its
/// `wasm-bindgen-shared`, which it pins to its own version exactly.
fn generator_version() -> String {
    release(&wasm_bindgen_shared::version()).to_owned()
}

/// `0.2.130` of `0.2.130 (abc123)`: a git build adds its commit.
fn release(version: &str) -> &str {
    version.split(' ').next().unwrap_or(version)
}

/// One line when the `wasm-bindgen` of `source` (`found`) is not the
/// generator's (`generator`), saying which pins to move.
fn check_version(found: &str, generator: &str, source: &str) -> Result<()> {
    let found = release(found);
    if found == generator {
        return Ok(());
    }
    bail!(
        "wasm-bindgen {found} in {source} but xtask's bindings generator is {generator}: pin \
         both to the same version in [workspace.dependencies] (`wasm-bindgen = \"={generator}\"`, \
         `wasm-bindgen-cli-support = \"={generator}\"`)"
    )
}

/// The `wasm-bindgen` version the macro recorded in `wasm`, or `None` if
/// it has no wasm-bindgen section. The first program's: every crate of one
/// build expands the same macro, so they all carry the same version.
fn macro_version(wasm: &[u8]) -> Result<Option<String>> {
    for payload in Parser::new(0).parse_all(wasm) {
        let Payload::CustomSection(section) = payload.context("not a wasm module")? else {
            continue;
        };
        if section.name() != SECTION {
            continue;
        }
        // Each program is a little-endian u32 length, then the JSON prefix.
        let data = section.data();
        let prefix = data.get(4..).unwrap_or_default();
        let prefix = prefix.split(|&b| b == b'}').next().unwrap_or_default();
        let prefix = String::from_utf8_lossy(prefix);
        let needle = "\"version\":\"";
        let version = prefix
            .find(needle)
            .map(|at| &prefix[at + needle.len()..])
            .and_then(|rest| rest.split('"').next());
        let Some(version) = version else {
            bail!("the {SECTION} section does not start with wasm-bindgen's version");
        };
        return Ok(Some(version.to_owned()));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_mismatch_is_one_line_naming_both_pins() {
        let err = check_version("0.2.129", "0.2.130", "Cargo.lock").unwrap_err();
        assert_eq!(
            err.to_string(),
            "wasm-bindgen 0.2.129 in Cargo.lock but xtask's bindings generator is 0.2.130: pin \
             both to the same version in [workspace.dependencies] (`wasm-bindgen = \"=0.2.130\"`, \
             `wasm-bindgen-cli-support = \"=0.2.130\"`)"
        );
        check_version("0.2.130 (abc123)", "0.2.130", "Cargo.lock").unwrap();
    }

    fn lock(wasm_bindgen: &str) -> String {
        format!(
            "version = 4\n\n\
             [[package]]\nname = \"wasm-bindgen-shared\"\nversion = \"0.1.0\"\n\n\
             [[package]]\nname = \"wasm-bindgen\"\nversion = \"{wasm_bindgen}\"\n"
        )
    }

    #[test]
    fn check_lock_refuses_another_wasm_bindgen_and_passes_the_generators() {
        let ours = generator_version();
        check_lock(&lock(&ours)).unwrap();
        let err = check_lock(&lock("0.1.0")).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "wasm-bindgen 0.1.0 in Cargo.lock but xtask's bindings generator is {ours}:"
            )),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
        check_lock("version = 4\n").unwrap();
    }

    #[test]
    fn the_workspace_lock_pins_the_generators_version() {
        let lock = include_str!("../../../../Cargo.lock");
        check_lock(lock).unwrap();
        assert!(lock.contains(&format!(
            "name = \"wasm-bindgen\"\nversion = \"{}\"",
            generator_version()
        )));
    }

    /// A module with one custom section `name` holding `data`.
    fn module_with_section(name: &str, data: &[u8]) -> Vec<u8> {
        let mut payload = vec![name.len() as u8];
        payload.extend_from_slice(name.as_bytes());
        payload.extend_from_slice(data);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.push(0);
        wasm.push(payload.len() as u8);
        wasm.extend_from_slice(&payload);
        wasm
    }

    #[test]
    fn macro_version_reads_the_sections_json_prefix() {
        let json = br#"{"schema_version":"0.2.130","version":"0.2.129"}"#;
        let mut data = (json.len() as u32 + 3).to_le_bytes().to_vec();
        data.extend_from_slice(json);
        data.extend_from_slice(b"\x01\x02\x03");
        let wasm = module_with_section(SECTION, &data);
        assert_eq!(macro_version(&wasm).unwrap().as_deref(), Some("0.2.129"));
        let other = module_with_section("name", b"\0");
        assert_eq!(macro_version(&other).unwrap(), None);
    }

    #[test]
    fn bindgen_refuses_a_module_without_wasm_bindgen_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("plain.wasm");
        std::fs::write(&input, module_with_section("name", b"\0")).unwrap();
        let err = bindgen(&input, &dir.path().join("pkg"), "plain").unwrap_err();
        assert!(
            err.to_string().ends_with(
                "has no wasm-bindgen section: build a crate that uses \
                                       the `wasm-bindgen` crate, for wasm32-unknown-unknown"
            ),
            "{err}"
        );
        assert!(!dir.path().join("pkg").exists());
    }

    #[test]
    #[ignore = "end to end: a release build of web-demo for wasm32-unknown-unknown"]
    fn bindgen_writes_the_web_demos_es_module_and_its_wasm() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let target = cargo_metadata::MetadataCommand::new()
            .current_dir(root)
            .no_deps()
            .exec()
            .unwrap()
            .target_directory;
        let status = std::process::Command::new(crate::util::process::cargo())
            .current_dir(root)
            .args(["build", "-p", "web-demo", "--release"])
            .args(["--target", "wasm32-unknown-unknown", "--target-dir"])
            .arg(&target)
            .status()
            .unwrap();
        assert!(status.success());
        let input = target.join("wasm32-unknown-unknown/release/web_demo.wasm");
        let out = tempfile::tempdir().unwrap();

        let bindings = bindgen(input.as_std_path(), out.path(), "web_demo").unwrap();

        let js = std::fs::read_to_string(&bindings.js).unwrap();
        assert!(js.contains("export function run("), "{js}");
        assert!(js.contains("__wbg_init as default"), "{js}");
        // The page's Content Security Policy allows no `eval`.
        assert!(
            !js.contains("new Function") && !js.contains("eval("),
            "{js}"
        );
        let wasm = std::fs::read(&bindings.wasm).unwrap();
        wasm_size::wasm::validate_wasm(&wasm).unwrap();
        assert_eq!(
            macro_version(&wasm).unwrap(),
            None,
            "the section is consumed"
        );

        // The same build as another wasm-bindgen would have left it (its
        // version's last digit changed, so every length stays): one line.
        let ours = generator_version();
        let mut other = ours.clone();
        let last = other.pop().unwrap().to_digit(10).unwrap();
        other.push(char::from_digit((last + 1) % 10, 10).unwrap());
        let mut bytes = std::fs::read(&input).unwrap();
        let (from, to) = (format!("\"{ours}\""), format!("\"{other}\""));
        let mut replaced = 0;
        for i in 0..bytes.len() - from.len() {
            if bytes[i..].starts_with(from.as_bytes()) {
                bytes[i..i + to.len()].copy_from_slice(to.as_bytes());
                replaced += 1;
            }
        }
        assert!(replaced > 0);
        let other_wasm = out.path().join("other.wasm");
        std::fs::write(&other_wasm, &bytes).unwrap();
        let err = bindgen(&other_wasm, &out.path().join("other"), "other").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "wasm-bindgen {other} in {} but xtask's bindings generator is {ours}: pin both \
                 to the same version in [workspace.dependencies] (`wasm-bindgen = \"={ours}\"`, \
                 `wasm-bindgen-cli-support = \"={ours}\"`)",
                other_wasm.display()
            )
        );
    }
}
