//! The `mfa-host` command line. `mfa-host build` runs the components' build commands; serving (`mfa-host up`)
//! is the next step of the host and is not in this binary yet.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mfa_host::build::build_all;
use mfa_host::manifest::Manifest;

/// Runs this project's spin.toml as Spin does.
#[derive(Parser)]
#[command(name = "mfa-host", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run each component's `[component.X.build]` commands, as `spin build` does.
    Build {
        /// The manifest.
        #[arg(long, short = 'f', default_value = "spin.toml")]
        from: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build { from } => Manifest::load(&from)
            .map_err(|error| error.to_string())
            .and_then(|manifest| build_all(&manifest, &mut std::io::stdout()).map_err(|error| error.to_string())),
    };
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {message}");
            ExitCode::FAILURE
        }
    }
}
