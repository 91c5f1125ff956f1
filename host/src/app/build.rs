//! `mfa-host build`: runs each component's `[component.X.build]` commands, as `spin build` does.
//!
//! Components are built in id order; each command runs through `sh -c` in the component's `workdir` (relative to
//! the manifest directory, default the manifest directory itself), with its output passed through. The first
//! failing command stops the build with an error naming the component and the command.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::app::manifest::Manifest;

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The command could not be started.
    #[error("component {component:?}: cannot run `{command}`: {source}")]
    Spawn {
        /// The component.
        component: String,
        /// The command.
        command: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The command exited unsuccessfully.
    #[error("component {component:?}: `{command}` failed ({status})")]
    Failed {
        /// The component.
        component: String,
        /// The command.
        command: String,
        /// How it exited.
        status: std::process::ExitStatus,
    },
}

/// Runs every build command of `manifest`, writing progress lines to `progress`. Returns how many components were
/// built.
pub fn build_all(manifest: &Manifest, progress: &mut impl Write) -> Result<usize, BuildError> {
    let mut built = 0;
    for component in manifest.components.values() {
        let Some(build) = &component.build else {
            // Progress output is best-effort: a closed terminal must not fail the build.
            let _ = writeln!(progress, "{}: no build command; skipping", component.id);
            continue;
        };
        let workdir = build.workdir.as_deref().map_or_else(|| manifest.dir.clone(), |dir| manifest.dir.join(dir));
        for command in &build.commands {
            let _ = writeln!(progress, "Building component {} with `{command}`", component.id);
            run(&component.id, command, &workdir)?;
        }
        built += 1;
    }
    let _ = writeln!(progress, "Finished building all components");
    Ok(built)
}

fn run(component: &str, command: &str, workdir: &Path) -> Result<(), BuildError> {
    let status =
        Command::new("sh").arg("-c").arg(command).current_dir(workdir).status().map_err(|source| {
            BuildError::Spawn { component: component.to_owned(), command: command.to_owned(), source }
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError::Failed { component: component.to_owned(), command: command.to_owned(), status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(dir: &Path, build: &str) -> Manifest {
        let text = format!(
            "spin_manifest_version = 2\n[application]\nname = \"t\"\n\
             [component.a]\nsource = \"a.wasm\"\n{build}\n\
             [component.b]\nsource = \"b.wasm\"\n"
        );
        Manifest::parse(&text, dir.to_path_buf()).unwrap()
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mfa-host-build-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        dir
    }

    #[test]
    fn runs_commands_in_order_in_the_workdir() {
        let dir = scratch("ok");
        let m = manifest(
            &dir,
            "[component.a.build]\ncommand = [\"echo one > out\", \"echo two >> out\"]\nworkdir = \"sub\"",
        );
        let mut progress = Vec::new();
        assert_eq!(build_all(&m, &mut progress).unwrap(), 1);
        assert_eq!(std::fs::read_to_string(dir.join("sub/out")).unwrap(), "one\ntwo\n");
        let progress = String::from_utf8(progress).unwrap();
        assert!(progress.contains("Building component a with `echo one > out`"), "{progress}");
        assert!(progress.contains("b: no build command; skipping"), "{progress}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failing_command_stops_the_build_and_names_it() {
        let dir = scratch("fail");
        let m = manifest(&dir, "[component.a.build]\ncommand = [\"exit 3\", \"touch never\"]");
        let error = build_all(&m, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(&error, BuildError::Failed { component, command, .. } if component == "a" && command == "exit 3")
        );
        assert!(error.to_string().contains("exit status: 3"), "{error}");
        assert!(!dir.join("never").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
