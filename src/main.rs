//! The `cim-keys` binary: see `cim_keys::cli`.

use std::process::ExitCode;

fn main() -> ExitCode {
    cim_keys::cli::run(std::env::args_os())
}
