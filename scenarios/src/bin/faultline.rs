//! The `faultline` binary; everything lives in [`scenarios::cli`].

fn main() -> std::process::ExitCode {
    scenarios::cli::main_with_args(std::env::args_os())
}
