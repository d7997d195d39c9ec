//! The `faultline` binary over the protocols of this repository; everything lives in
//! [`scenarios::cli`].

// A search (`explore`) makes and drops millions of small states; mimalloc serves that
// several times faster than the system allocator. Addresses never reach a result.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    scenarios::faultline_main(scenarios::Registry::builtin())
}
