//! `faultline list`: what a scenario can name.

use std::path::{Path, PathBuf};

use clap::Args;

use super::exit;

/// Arguments of `faultline list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Where to look for scenario files (default: the shipped ones).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Runs `faultline list`.
pub fn run(args: &ListArgs) -> u8 {
    println!("protocols (with their default settings) and bug switches:");
    for p in crate::registry::all() {
        println!(
            "  {}({})   family: {:?}, checks: {}",
            p.name,
            p.defaults,
            p.family,
            crate::family::rules(p.family).checks().join(", ")
        );
        if let Some(choice) = crate::registry::ProtocolChoice::named(p.name) {
            let invariants = choice.invariant_names();
            if !invariants.is_empty() {
                println!(
                    "      invariants (with the default settings; expect: Violation(\"…\") names these): {}",
                    invariants.join(", ")
                );
            }
        }
        if p.bugs.is_empty() {
            println!("      no bug switches");
        }
        for b in p.bugs {
            println!(
                "      bug {:<28} {} (caught by {})",
                b.name,
                b.describe(),
                b.caught_by
            );
        }
        // Generic behaviours are the same for every protocol: listed once, below.
        for b in p
            .behaviours
            .iter()
            .filter(|b| !protocols::byzantine::GENERIC.contains(b))
        {
            println!("      byzantine {:<22} {}", b.name, b.description);
        }
    }
    println!("\nByzantine behaviours of every protocol (byzantine: [(node: 3, behaviour: …)]):");
    for b in protocols::byzantine::GENERIC {
        println!("  {:<16} {}", b.name, b.description);
    }
    println!("\nworkloads (with their default settings; the protocol's family must serve them):");
    println!("  None");
    for w in crate::format::WorkloadSpec::defaults() {
        let family = w.kind().map(|k| k.family());
        println!(
            "  {}   family: {:?}",
            ron::ser::to_string(&w).unwrap_or_default(),
            family.unwrap_or(protocols::Family::None)
        );
    }
    println!(
        "faults:      At(\"<time>\", F) with F one of Crash(T), Restart(T), Pause(T), Resume(T), Partition([G, ..]), Isolate(T), Cut(from: G, to: G) (G: [ids, \"0..3\", names, regions] or Leader, Random, RandomMinority, RandomMajority, All), Heal, Links(scope: .., latency/loss/duplicate: ..), ClockSkew(target: T, offset: \"-50ms\"), ClockDrift(target: T, ppm: N),"
    );
    println!(
        "             NextLeaders(after: Uniform(\"0ms\", \"30ms\"), down: \"100ms\", action: Crash | Pause | Isolate, times: 1, within: \"1s\", at_once: 1), AddNode(i), RemoveNode(i)"
    );
    println!(
        "targets T:   Node(i), Nodes([..]), Leader, Random, RandomMinority, RandomMajority, All (node ids from 0)"
    );
    println!(
        "nemesis:     kinds from Crash, Pause, Partition, Isolate, OneWay, Loss, Duplicate, Latency, ClockSkew, ClockDrift, LeaderCrash, LeaderPause, LeaderIsolate, Bounce, LeaderChurn, NewLeaderCrash, Membership, MembershipChurn"
    );
    println!(
        "checks:      Invariants, Linearizable, Liveness(within: \"<time>\"), Coverage(fraction: 0.99), Convergence(within: \"<time>\"), Validity, Decisions; expect: Pass | Violation(\"<check or invariant>\")"
    );
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let mut files = Vec::new();
    collect(&dir, &mut files);
    files.sort();
    println!("\nscenario files under {}:", dir.display());
    if files.is_empty() {
        println!("  (none found)");
    }
    for f in files {
        let note = match crate::load::load(&f) {
            Ok(s) => format!("{}: {}", s.name, s.description),
            Err(e) => format!("does not load: {e}"),
        };
        println!("  {}  {note}", f.display());
    }
    exit::OK
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir()
            && !matches!(
                name,
                "src" | "tests" | "benches" | "target" | "fuzz" | "examples"
            )
        {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "ron") {
            out.push(p);
        }
    }
}
