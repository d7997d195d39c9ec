//! EPaxos's fast-path share against the conflict rate, at five replicas and at three
//! (where the fast quorum is a majority), PreAccept to all and thrifty: a table on
//! standard output and a figure, `epaxos-fast-path.svg` and `.png`, in the folder given
//! (default `epaxos-conflicts`).
//! `cargo run --release -p scenarios --example epaxos_conflicts -- [DIR]`

use std::path::PathBuf;

use scenarios::sweeps::{CONFLICT_RATES, epaxos_fast_and_slow};

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "epaxos-conflicts".into()),
    );
    let configs = [(5, false), (5, true), (3, false), (3, true)];
    let mut series = Vec::new();
    println!("| conflict rate | {} |", configs.map(label).join(" | "));
    println!("|---|{}", "---|".repeat(configs.len()));
    let mut rows = vec![Vec::new(); CONFLICT_RATES.len()];
    for (nodes, thrifty) in configs {
        let mut values = Vec::new();
        for (i, rate) in CONFLICT_RATES.iter().enumerate() {
            let (fast, slow) = match epaxos_fast_and_slow(nodes, *rate, thrifty) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("error: N = {nodes}, {rate} %: {e}");
                    std::process::exit(1);
                }
            };
            let share = 100.0 * fast as f64 / (fast + slow).max(1) as f64;
            rows[i].push(format!("{share:.1} % ({fast} of {})", fast + slow));
            values.push(share);
        }
        series.push((label((nodes, thrifty)), values));
    }
    for (rate, row) in CONFLICT_RATES.iter().zip(rows) {
        println!("| {rate} % | {} |", row.join(" | "));
    }
    let meta = reports::Figure {
        name: "epaxos-fast-path".into(),
        title: "EPaxos fast-path share against conflict rate".into(),
        caption:
            "Share of commands committed on the fast path, by the share of commands on one hot key."
                .into(),
        size: (0, 0),
    };
    let categories = CONFLICT_RATES
        .iter()
        .map(|r| format!("{r} % conflicts"))
        .collect();
    match reports::write_bars(
        &dir,
        meta,
        "commands committed on the fast path (%)",
        categories,
        series,
    ) {
        Ok(f) => println!("figure       {}", f.svg_path(&dir).display()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

fn label((nodes, thrifty): (u32, bool)) -> String {
    if thrifty {
        format!("N = {nodes}, thrifty")
    } else {
        format!("N = {nodes}")
    }
}
