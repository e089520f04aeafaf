//! `cargo xtask build-wasm`: each wasm package alone, in its own target dir,
//! for wasm32-wasip1; release `.wasm` files then go through -Oz.

use anyhow::Result;
use xshell::Shell;

use super::Outcome;
use crate::ops::build;
use crate::ops::build::artifacts::Artifact;
use crate::ops::env::workspace::Workspace;
use wasm_size::artifact::Profile;
use wasm_size::table::{human_bytes, Table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build the debug profile (default: every profile)
    #[arg(long)]
    pub debug: bool,
    /// Build the release profile, and for a size-first package (std = "size")
    /// its release-stable-std twin too (default: every profile)
    #[arg(long)]
    pub release: bool,
    /// Build this profile: debug, release or release-stable-std (the
    /// prebuilt-std twin of a size-first package's release; repeatable)
    #[arg(long = "profile", value_name = "PROFILE", value_parser = parse_profile)]
    pub profiles: Vec<Profile>,
    /// Build only this wasm package (repeatable; default: every wasm package)
    #[arg(short = 'p', long = "package", value_name = "PKG")]
    pub packages: Vec<String>,
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    Profile::ALL
        .into_iter()
        .find(|p| p.to_string() == s)
        .ok_or_else(|| {
            let names: Vec<String> = Profile::ALL.iter().map(Profile::to_string).collect();
            format!("no profile `{s}`; profiles: {}", names.join(", "))
        })
}

impl Args {
    /// The profiles asked for, in `Profile::ALL`'s order; all when none is.
    pub fn profiles(&self) -> Vec<Profile> {
        let asked = |p: Profile| {
            self.profiles.contains(&p)
                || match p {
                    Profile::Debug => self.debug,
                    Profile::Release | Profile::ReleaseStableStd => self.release,
                }
        };
        let none = !self.debug && !self.release && self.profiles.is_empty();
        Profile::ALL
            .into_iter()
            .filter(|&p| none || asked(p))
            .collect()
    }
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    let packages = ws.select_wasm_packages(&args.packages)?;
    let built = build::build(sh, ws, &packages, &args.profiles())?;
    print_artifacts(&built.artifacts);
    Ok(Outcome::Passed)
}

pub fn print_artifacts(artifacts: &[Artifact]) {
    let mut table = Table::new(["package", "kind", "profile", "stage", "size", "path"]);
    for a in artifacts {
        let size = std::fs::metadata(&a.path)
            .map(|m| human_bytes(m.len()))
            .unwrap_or_default();
        table.row([
            a.package.clone(),
            a.kind.to_string(),
            a.profile.to_string(),
            a.stage.to_string(),
            size,
            a.path.display().to_string(),
        ]);
    }
    eprint!("{}", table.render());
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn profiles(argv: &[&str]) -> Vec<Profile> {
        Cli::try_parse_from(std::iter::once("build-wasm").chain(argv.iter().copied()))
            .unwrap()
            .args
            .profiles()
    }

    #[test]
    fn profile_flags_select_profiles_and_none_selects_all() {
        use Profile::*;
        assert_eq!(profiles(&[]), [Debug, Release, ReleaseStableStd]);
        assert_eq!(profiles(&["--debug"]), [Debug]);
        assert_eq!(profiles(&["--release"]), [Release, ReleaseStableStd]);
        assert_eq!(
            profiles(&["--profile", "release-stable-std"]),
            [ReleaseStableStd]
        );
        assert_eq!(
            profiles(&["--profile", "release", "--debug"]),
            [Debug, Release]
        );
        let err = Cli::try_parse_from(["build-wasm", "--profile", "fast"]).unwrap_err();
        assert!(err.to_string().contains("release-stable-std"), "{err}");
    }
}
