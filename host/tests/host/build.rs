//! `mfa-host build`: the components' build commands, run from the manifest's directory.

use std::process::Command;

use super::scratch;

#[test]
fn build_without_from_runs_in_the_current_directory() {
    let dir = scratch("build-default");
    let _ = std::fs::remove_file(dir.join("built"));
    std::fs::write(
        dir.join("spin.toml"),
        "spin_manifest_version = 2\n[application]\nname = \"t\"\n\
         [component.a]\nsource = \"a.wasm\"\n[component.a.build]\ncommand = \"echo yes > built\"\n",
    )
    .unwrap();
    // The default `--from spin.toml` has the empty path as its parent, which is the current directory.
    let output = Command::new(env!("CARGO_BIN_EXE_mfa-host")).arg("build").current_dir(&dir).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::read_to_string(dir.join("built")).unwrap(), "yes\n");
}
