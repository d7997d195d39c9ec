//! `kv-primary-backup`: the `faultline` command line, with this crate's protocol beside the
//! built-in ones. `cargo run -p kv-primary-backup -- run scenarios/examples/kv-primary-backup/scenarios/crashes.ron`.

fn main() -> std::process::ExitCode {
    scenarios::faultline_main(kv_primary_backup::registry())
}
