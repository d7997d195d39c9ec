//! Any bytes: the scenario loader returns a scenario or an error, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = scenarios::load::parse(&text, "fuzz.ron");
});
