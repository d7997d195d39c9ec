//! The `faultline` binary over the protocols of this repository; everything lives in
//! [`scenarios::cli`].

fn main() -> std::process::ExitCode {
    scenarios::faultline_main(scenarios::Registry::builtin())
}
