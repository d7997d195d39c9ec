//! A first run: five echo nodes on a lossy network, a crash and a partition, with the
//! summary a run prints. `cargo run --release -p sim-core --example echo [SEED]`.

use sim_core::echo::Echo;
use sim_core::network::Ordering;
use sim_core::rng::Delay;
use sim_core::{Fault, NodeId, SimConfig, SimDuration, Simulation, Target};

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let ms = SimDuration::from_millis;
    let mut config = SimConfig {
        seed,
        nodes: 5,
        horizon: SimDuration::from_secs(2),
        ..SimConfig::default()
    };
    config.network.default_link.latency = Delay::LogNormal {
        median: ms(5),
        sigma: 0.6,
    };
    config.network.default_link.loss = 0.01;
    config.network.default_link.ordering = Ordering::Fifo;
    let result = Simulation::<Echo>::builder(config)
        .fault(ms(500), Fault::Crash(Target::Random))
        .fault(ms(800), Fault::Partition(vec![vec![NodeId(0), NodeId(1)]]))
        .fault(ms(1200), Fault::Heal)
        .fault(ms(1500), Fault::Restart(Target::All))
        .build()
        .expect("a valid configuration")
        .run();
    println!("seed         {}", result.seed);
    println!("ended        {} at {}", result.end, result.end_time);
    println!("events       {}", result.events);
    println!("fingerprint  {:016x}", result.fingerprint);
    for f in &result.faults {
        println!("fault        {:>8}  {}", f.at.to_string(), f.description);
    }
    for (kind, c) in &result.metrics.messages {
        println!(
            "messages     {kind:<6} sent {:>7} delivered {:>7} dropped {:>5}",
            c.sent, c.delivered, c.dropped
        );
    }
    for (reason, n) in &result.metrics.drops {
        println!("drops        {reason:<10} {n}");
    }
}
