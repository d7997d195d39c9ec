//! A proposal workload for the consensus family: clients propose values for numbered
//! instances (independent decrees), so one run exercises many decisions. Each client
//! walks the instances in order and proposes its own value for each one it takes part
//! in; several clients proposing for one instance at different nodes is what makes
//! proposers compete. Values are unique (`c<client>.<instance>`), so a decided value
//! names the client whose proposal won.

use rand::Rng;

use crate::client::Workload;
use crate::history::{ClientId, Operation};
use crate::rng::SimRng;

/// Each client proposes for instances `0..instances` in order, taking part in each with
/// probability `share`.
#[derive(Clone, Debug)]
pub struct ProposalWorkload {
    instances: u64,
    share: f64,
    /// Per client: the next instance it considers.
    next: Vec<u64>,
}

impl ProposalWorkload {
    /// A workload of `instances` decrees; `share` must be a probability.
    pub fn new(instances: u64, share: f64) -> Result<Self, String> {
        if instances == 0 {
            return Err("a consensus workload needs at least one instance".into());
        }
        if !(share > 0.0 && share <= 1.0) {
            return Err(format!(
                "share {share} must be above 0 and at most 1: the probability that a client proposes for an instance"
            ));
        }
        Ok(ProposalWorkload {
            instances,
            share,
            next: Vec::new(),
        })
    }

    /// The value client `client` proposes for `instance`.
    pub fn value(client: ClientId, instance: u64) -> String {
        format!("c{client}.{instance}")
    }
}

impl Workload for ProposalWorkload {
    fn fork(&self) -> Option<Box<dyn Workload>> {
        Some(Box::new(self.clone()))
    }
    fn memory(&self) -> u64 {
        crate::fingerprint::digest(&self.next)
    }
    fn next_op(&mut self, client: ClientId, rng: &mut SimRng) -> Option<Operation> {
        let c = client as usize;
        if self.next.len() <= c {
            self.next.resize(c + 1, 0);
        }
        while self.next[c] < self.instances {
            let instance = self.next[c];
            self.next[c] += 1;
            // A share of 1 draws nothing, so the common case spends no randomness.
            if self.share >= 1.0 || rng.random_bool(self.share) {
                return Some(Operation::Propose {
                    instance,
                    value: Self::value(client, instance),
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{RunSeed, Stream};

    fn drain(w: &mut ProposalWorkload, client: ClientId, rng: &mut SimRng) -> Vec<u64> {
        let mut out = Vec::new();
        while let Some(op) = w.next_op(client, rng) {
            let Operation::Propose { instance, value } = op else {
                panic!("not a proposal: {op:?}");
            };
            assert_eq!(value, ProposalWorkload::value(client, instance));
            out.push(instance);
        }
        out
    }

    #[test]
    fn every_client_walks_every_instance_in_order_at_full_share() {
        let mut w = ProposalWorkload::new(5, 1.0).unwrap();
        let mut rng = RunSeed(1).stream(Stream::Workload);
        assert_eq!(drain(&mut w, 0, &mut rng), vec![0, 1, 2, 3, 4]);
        assert_eq!(drain(&mut w, 2, &mut rng), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_share_skips_some_instances_and_keeps_the_order() {
        let mut w = ProposalWorkload::new(400, 0.25).unwrap();
        let mut rng = RunSeed(2).stream(Stream::Workload);
        let got = drain(&mut w, 1, &mut rng);
        assert!(got.windows(2).all(|p| p[0] < p[1]));
        assert!((60..140).contains(&got.len()), "{} of 400", got.len());
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(ProposalWorkload::new(0, 1.0).is_err());
        assert!(ProposalWorkload::new(3, 0.0).is_err());
        assert!(ProposalWorkload::new(3, 1.5).is_err());
        assert!(ProposalWorkload::new(3, f64::NAN).is_err());
    }
}
