//! Client latency by region, for wide-area scenarios whose clients sit at a home node
//! (`client_placement: Home`): where a client is decides what a protocol costs it, and
//! `faultline compare` draws the protocols side by side per region.

use sim_core::client::Placement;
use sim_core::history::{History, Outcome};

use crate::format::{Scenario, WorkloadSpec};

/// The region of each client of `s`, by client id, if its clients sit at home nodes in
/// regions: (region index, region name).
pub fn client_regions(s: &Scenario) -> Option<Vec<(u32, String)>> {
    let WorkloadSpec::KeyValue(kv) = &s.workload else {
        return None;
    };
    let regions = s.network.regions.as_ref()?;
    if kv.client_placement != Placement::Home || s.nodes == 0 {
        return None;
    }
    Some(
        (0..kv.clients)
            .map(|c| {
                let home = (c % s.nodes) as usize;
                let r = regions.nodes.get(home).copied().unwrap_or(0);
                let name = regions
                    .names
                    .get(r as usize)
                    .cloned()
                    .unwrap_or_else(|| format!("region {r}"));
                (r, name)
            })
            .collect(),
    )
}

/// The median latency in milliseconds of the operations completed with an answer, per
/// region of the clients that issued them, in region order; empty unless the clients of
/// `s` sit at home nodes in regions.
pub fn median_latency_by_region(s: &Scenario, history: &History) -> Vec<(String, f64)> {
    let Some(regions) = client_regions(s) else {
        return Vec::new();
    };
    let mut by_region: std::collections::BTreeMap<u32, (String, Vec<u64>)> = Default::default();
    for op in history.ops() {
        let (Outcome::Ok(_), Some(done)) = (&op.outcome, op.completed) else {
            continue;
        };
        let Some((r, name)) = regions.get(op.client as usize) else {
            continue;
        };
        by_region
            .entry(*r)
            .or_insert_with(|| (name.clone(), Vec::new()))
            .1
            .push(done.0 - op.invoked.0);
    }
    by_region
        .into_values()
        .map(|(name, mut lat)| {
            lat.sort_unstable();
            // The same median as compare's percentiles (nearest rank).
            (name, reports::data::quantile(&lat, 0.5) as f64 / 1e6)
        })
        .collect()
}
