//! Flags several commands share: which wasm packages and profiles to
//! build (build-wasm, bench-build). A command takes them from here, never
//! from another command.

use wasm_size::artifact::Profile;

#[derive(Debug, clap::Args)]
pub struct BuildSelection {
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

impl BuildSelection {
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: BuildSelection,
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
