//! The hard class of histories decides: open-loop clients on a WAN cluster under crash
//! storms (`raft/wan-storm-open`), with the operation mixes `fuzz --swarm` draws. These
//! seeds once stayed undecided at a 1 GiB memory budget; each is now decided, and a
//! check that could not decide would fail this test rather than read as a pass.

use scenarios::runner::{RunOptions, Status, run};

#[test]
fn swarm_mixes_of_the_open_loop_storm_are_decided() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/wan-storm-open.ron");
    let base = scenarios::load::load(std::path::Path::new(path)).expect("scenario loads");
    // Append-heavy mixes with a few puts or compare-and-sets, and one append-only one.
    for seed in [2, 31, 65, 109, 124, 131, 146, 179, 182] {
        let s = scenarios::fuzz::concretize(&base, seed, true, &[]);
        let result = run(&s, RunOptions::default()).expect("runs");
        let check = result
            .summary
            .checks
            .iter()
            .find(|c| c.check == "linearizability")
            .expect("the linearizability check ran");
        assert_eq!(check.status, Status::Pass, "seed {seed}: {check:?}");
    }
}
