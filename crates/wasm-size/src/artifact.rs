//! How an artifact is named: [`ArtifactId`], `package/kind/profile/stage`,
//! the id budgets, baselines and the history use.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// `release-stable-std` is the release build of a package that ships with
/// the size-first std (`[package.metadata.cortex] std = "size"`), built with
/// the toolchain's prebuilt std instead: measured beside the shipped build so
/// every report shows what the size-first std saves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    Debug,
    Release,
    ReleaseStableStd,
}

impl Profile {
    /// Every profile a measurement builds (`release-stable-std` only where
    /// a package builds std size-first).
    pub const ALL: [Profile; 3] = [Profile::Debug, Profile::Release, Profile::ReleaseStableStd];

    /// Whether cargo builds it with `--release` (cargo's `release` profile).
    pub fn is_release(self) -> bool {
        self != Profile::Debug
    }

    /// The dir cargo writes it to under `<target dir>/<triple>/`.
    pub fn cargo_dir(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release | Profile::ReleaseStableStd => "release",
        }
    }
}

/// `js` is a browser package's ES module, the glue its page imports;
/// `browser` is what a browser downloads of it, its `.wasm` and its `.js`
/// together (no file of its own: the sum of the two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Rlib,
    Wasm,
    Js,
    Browser,
}

/// `raw` is what cargo wrote; `opt` is the shipped file after wasm-opt -Oz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Raw,
    Opt,
}

/// `as_str`, `Display` and `from_name` of a part of an id, spelled as
/// serde spells it.
macro_rules! named_as_serde {
    ($($t:ty: $($v:ident => $s:literal),*;)*) => {$(
        impl $t {
            /// As the id and the JSON spell it.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }

            fn from_name(text: &str) -> Option<Self> {
                match text { $($s => Some(Self::$v),)* _ => None }
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

named_as_serde! {
    Profile: Debug => "debug", Release => "release", ReleaseStableStd => "release-stable-std";
    Kind: Rlib => "rlib", Wasm => "wasm", Js => "js", Browser => "browser";
    Stage: Raw => "raw", Opt => "opt";
}

/// `package/kind/profile/stage`: how budgets, baselines, the history and
/// every table name an artifact. Written and read as that text (in JSON
/// too), and ordered as that text, so a map keyed by ids lists them in the
/// order it did when ids were strings. The package holds no `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArtifactId {
    pub package: String,
    pub kind: Kind,
    pub profile: Profile,
    pub stage: Stage,
}

impl ArtifactId {
    pub fn new(package: &str, kind: Kind, profile: Profile, stage: Stage) -> Self {
        debug_assert!(!package.contains('/'), "package `{package}` holds a /");
        Self {
            package: package.to_owned(),
            kind,
            profile,
            stage,
        }
    }

    /// The file `package` ships: its release `.wasm` after -Oz.
    pub fn shipped(package: &str) -> Self {
        Self::new(package, Kind::Wasm, Profile::Release, Stage::Opt)
    }

    /// Whether this is a file we ship (a release `.wasm` after -Oz).
    pub fn is_shipped(&self) -> bool {
        (self.kind, self.profile, self.stage) == (Kind::Wasm, Profile::Release, Stage::Opt)
    }

    /// Whether this is the twin of a shipped file: the same package's
    /// release `.wasm` after -Oz, built with the stable std, beside a
    /// shipped one built size-first.
    pub fn is_stable_std_twin(&self) -> bool {
        (self.kind, self.profile, self.stage) == (Kind::Wasm, Profile::ReleaseStableStd, Stage::Opt)
    }

    /// The id's text, in pieces.
    fn parts(&self) -> [&str; 7] {
        [
            &self.package,
            "/",
            self.kind.as_str(),
            "/",
            self.profile.as_str(),
            "/",
            self.stage.as_str(),
        ]
    }

    fn text_bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.parts().into_iter().flat_map(str::bytes)
    }
}

impl fmt::Display for ArtifactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.parts().into_iter().try_for_each(|p| f.write_str(p))
    }
}

/// The form an id takes, for errors.
const FORM: &str = "expected package/kind/profile/stage: kind rlib, wasm, js or browser, \
                    profile debug, release or release-stable-std, stage raw or opt (e.g. \
                    wasm-demo/wasm/release/opt)";

impl FromStr for ArtifactId {
    type Err = anyhow::Error;

    /// The error is one line naming `text`, what in it is wrong, and the
    /// expected form.
    fn from_str(text: &str) -> Result<Self> {
        let parts: Vec<&str> = text.split('/').collect();
        let [package, kind, profile, stage] = parts[..] else {
            bail!("`{text}` is not an artifact id: {FORM}");
        };
        if package.is_empty() {
            bail!("`{text}` is not an artifact id: no package; {FORM}");
        }
        fn part<T>(text: &str, what: &str, name: &str, of: fn(&str) -> Option<T>) -> Result<T> {
            match of(name) {
                Some(value) => Ok(value),
                None => bail!("`{text}` is not an artifact id: no {what} `{name}`; {FORM}"),
            }
        }
        Ok(Self {
            package: package.to_owned(),
            kind: part(text, "kind", kind, Kind::from_name)?,
            profile: part(text, "profile", profile, Profile::from_name)?,
            stage: part(text, "stage", stage, Stage::from_name)?,
        })
    }
}

impl TryFrom<String> for ArtifactId {
    type Error = anyhow::Error;
    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

impl From<ArtifactId> for String {
    fn from(id: ArtifactId) -> Self {
        id.to_string()
    }
}

impl Ord for ArtifactId {
    /// As the ids' text compares.
    fn cmp(&self, other: &Self) -> Ordering {
        self.text_bytes().cmp(other.text_bytes())
    }
}

impl PartialOrd for ArtifactId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_back_as_it_is_written() {
        for text in [
            "wasm-demo/wasm/release/opt",
            "cortex-core/rlib/debug/raw",
            "wasm-demo/wasm/release-stable-std/opt",
            "web-demo/js/release/opt",
            "web-demo/browser/release/opt",
        ] {
            let id: ArtifactId = text.parse().unwrap();
            assert_eq!(id.to_string(), text);
            assert_eq!(serde_json::to_value(&id).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<ArtifactId>(text.into()).unwrap(),
                id
            );
        }
        let shipped = ArtifactId::shipped("wasm-demo");
        assert!(shipped.is_shipped() && !shipped.is_stable_std_twin());
        let twin: ArtifactId = "wasm-demo/wasm/release-stable-std/opt".parse().unwrap();
        assert!(twin.is_stable_std_twin() && !twin.is_shipped());
    }

    #[test]
    fn a_bad_id_is_one_line_naming_it_and_the_form() {
        for (bad, says) in [
            ("wasm-demo/wasm/release/optt", "no stage `optt`"),
            ("wasm-demo/wasm/relase/opt", "no profile `relase`"),
            ("wasm-demo/exe/release/opt", "no kind `exe`"),
            ("/wasm/release/opt", "no package"),
            ("wasm-demo/wasm/release", "is not an artifact id: expected"),
            ("a/b/wasm/release/opt", "is not an artifact id: expected"),
            ("wasm-demo", "is not an artifact id: expected"),
            ("", "is not an artifact id: expected"),
        ] {
            let e = bad.parse::<ArtifactId>().unwrap_err().to_string();
            assert!(e.starts_with(&format!("`{bad}` ")), "{e}");
            assert!(
                e.contains(says) && e.contains("package/kind/profile/stage"),
                "{e}"
            );
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn ids_sort_as_their_text() {
        let texts = [
            "a-b/wasm/release/opt",
            "a/rlib/release/raw",
            "a/wasm/debug/raw",
            "a/wasm/release-stable-std/opt",
            "a/wasm/release/opt",
            "a/wasm/release/raw",
            "a_b/rlib/debug/raw",
            "ab/rlib/debug/raw",
        ];
        let mut ids: Vec<ArtifactId> = texts.iter().rev().map(|t| t.parse().unwrap()).collect();
        ids.sort();
        let back: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let mut sorted = texts.map(String::from).to_vec();
        sorted.sort();
        assert_eq!(back, sorted);
        assert_eq!(back, texts, "the list above is in text order");
    }
}
