# Everyday commands. `just` is optional (`cargo install just`): each recipe is one plain
# cargo command you can type yourself.

default: test

# One run of a scenario (the built-in one without FILE).
run file="" *args="":
    cargo run --release -- run {{file}} {{args}}

# The test suite, as CI runs it.
test:
    cargo test --workspace

# Many seeds of a scenario on every core; failures shrunk and saved to fuzz-out/.
fuzz file seeds="1000" *args="":
    cargo run --release -- fuzz {{file}} --seeds {{seeds}} {{args}}

# Engine throughput against a bare event loop, fuzzing, Raft, checker and report speed.
bench:
    cargo bench -p sim-core --bench engine
    cargo bench -p scenarios --bench fuzz
    cargo bench -p scenarios --bench replication
    cargo bench -p scenarios --bench check
    cargo bench -p reports --bench report

# A run with its figures and HTML page in report/ (open report/index.html).
report file="" dir="report":
    cargo run --release -- run {{file}} --report {{dir}}

# Gossip's published numbers (rounds to coverage, residue) over many seeds, as a table.
gossip-numbers seeds="100":
    GOSSIP_SEEDS={{seeds}} cargo test --release -p scenarios --test gossip_numbers -- --ignored --nocapture

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# A first look at the engine alone.
demo seed="1":
    cargo run --release -p sim-core --example echo {{seed}}

# Everything CI does.
ci:
    bash .ci/run

# The blocking figure: uncertainty under coordinator crashes, 2PC against 3PC, 1000 seeds each.
blocking-table:
    cargo test -p protocols --test commit -- --ignored --nocapture blocking_table

# Rewrite scenarios/fingerprints.lock after an intended change of behaviour (say so in the commit).
lock:
    FAULTLINE_WRITE_LOCK=1 cargo test -p scenarios --test fingerprint_lock
