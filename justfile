# Everyday commands. `just` is a convenience: each recipe is one plain cargo command.

default: test

# A first run of the engine (seed optional).
demo seed="1":
    cargo run --release -p sim-core --example echo {{seed}}

# The test suite, as CI runs it.
test:
    cargo test --workspace

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Engine throughput against a bare event loop.
bench:
    cargo bench -p sim-core --bench engine

# Everything CI does.
ci:
    bash .ci/run
