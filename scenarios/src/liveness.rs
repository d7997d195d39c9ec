//! The liveness check of client workloads: after the last fault, the system keeps
//! answering. Operations still waited on after the last fault must see an answer (to
//! themselves or to another operation) within the bound, and from then on, while any
//! operation is waited on, answers keep coming at least once per bound: a cluster that
//! answers once after the heal and then stalls for good fails, where a check of the first
//! answer alone would pass it.

use sim_core::history::{History, Outcome};
use sim_core::{SimDuration, SimTime};

use crate::runner::Status;

/// The verdict on `history` of a run that ended at `end`, whose last fault was at
/// `last_fault`, with the bound `within`: the status and what a reader is told.
pub fn judge(
    history: &History,
    last_fault: SimTime,
    end: SimTime,
    within: SimDuration,
) -> (Status, String) {
    // Answers: operations completed with an outcome the system gave (not a client's
    // timeout).
    let mut answers: Vec<SimTime> = history
        .ops()
        .iter()
        .filter(|o| matches!(o.outcome, Outcome::Ok(_) | Outcome::Failed))
        .filter_map(|o| o.completed)
        .filter(|c| *c >= last_fault)
        .collect();
    answers.sort_unstable();
    // When operations were waited on after the last fault, merged into spans.
    let mut waits: Vec<(SimTime, SimTime)> = history
        .ops()
        .iter()
        .filter_map(|o| {
            let from = o.invoked.max(last_fault);
            let to = o.completed.unwrap_or(end);
            (to > from).then_some((from, to))
        })
        .collect();
    if waits.is_empty() {
        return (
            Status::Pass,
            "all operations were done before the last fault".into(),
        );
    }
    waits.sort_unstable();
    let mut spans: Vec<(SimTime, SimTime)> = Vec::new();
    for (a, b) in waits {
        match spans.last_mut() {
            Some((_, e)) if a <= *e => *e = (*e).max(b),
            _ => spans.push((a, b)),
        }
    }
    // Between two answers (or from the last fault to the first, or from the last to the
    // end), the system owes an answer from the first moment an operation waits to the
    // last: only an answer resets that clock, not a client giving up and asking again.
    let mut bounds = vec![last_fault];
    bounds.extend(answers.iter().copied());
    bounds.push(end);
    let mut worst: Option<(SimTime, SimTime)> = None;
    // Spans are disjoint and sorted, and so are the periods: one pass over both.
    let mut first = 0;
    for pair in bounds.windows(2) {
        let (p, q) = (pair[0], pair[1]);
        while first < spans.len() && spans[first].1 <= p {
            first += 1;
        }
        let mut waited: Option<(SimTime, SimTime)> = None;
        for (a, b) in &spans[first..] {
            if *a >= q {
                break;
            }
            let (from, to) = ((*a).max(p), (*b).min(q));
            waited = Some(waited.map_or((from, to), |(x, y)| (x.min(from), y.max(to))));
        }
        if let Some((from, to)) = waited
            && worst.is_none_or(|(x, y)| to.saturating_since(from) > y.saturating_since(x))
        {
            worst = Some((from, to));
        }
    }
    // No answer at all since the last fault, and the run ended before the bound: the
    // run was too short to tell.
    if answers.is_empty() && end < last_fault + within {
        return (
            Status::Unknown,
            format!(
                "no answer since the last fault at {last_fault}, and the run ended at {end}, before the bound ({within}) expired"
            ),
        );
    }
    let Some((from, to)) = worst else {
        return (
            Status::Pass,
            "nothing was waited on after the last fault".into(),
        );
    };
    let gap = to.saturating_since(from);
    if gap <= within {
        let first = answers.first().map_or_else(
            || "none needed".to_string(),
            |t| format!("{}", t.saturating_since(last_fault)),
        );
        return (
            Status::Pass,
            format!(
                "answers kept coming after the last fault: the first {first} after it, the longest wait {gap} (bound {within})"
            ),
        );
    }
    (
        Status::Fail,
        format!(
            "operations were waited on from {from} to {to} with no answer ({gap}, bound {within}; last fault at {last_fault})"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::history::{OpOutput, Operation};

    fn ms(v: u64) -> SimTime {
        SimTime(v * 1_000_000)
    }

    /// A history of (invoked, completed with an answer) pairs in ms; `None`: never answered.
    fn history(ops: &[(u64, Option<u64>)]) -> History {
        let mut h = History::default();
        for (i, (a, b)) in ops.iter().enumerate() {
            let id = h.invoke(i as u32, Operation::Get { key: 0 }, ms(*a));
            if let Some(b) = b {
                h.complete(id, Outcome::Ok(OpOutput::Done), ms(*b));
            }
        }
        h
    }

    /// A client that gives up after 100 ms, thinks 1 ms and asks again, from `from` to
    /// `to` ms, never answered.
    fn giving_up(h: &mut History, from: u64, to: u64) {
        let mut t = from;
        while t + 100 <= to {
            let id = h.invoke(9, Operation::Get { key: 0 }, ms(t));
            h.complete(id, Outcome::Indeterminate, ms(t + 100));
            t += 101;
        }
    }

    #[test]
    fn a_client_giving_up_and_asking_again_does_not_hide_a_stall() {
        let within = SimDuration::from_millis(500);
        let mut h = history(&[(0, Some(50))]);
        giving_up(&mut h, 1000, 2000);
        let (status, detail) = judge(&h, ms(1000), ms(2000), within);
        assert_eq!(status, Status::Fail, "{detail}");
        // With answers coming in between, the same client is fine.
        let mut h = history(&[(1000, Some(1300)), (1300, Some(1700)), (1700, Some(1990))]);
        giving_up(&mut h, 1000, 2000);
        assert_eq!(judge(&h, ms(1000), ms(2000), within).0, Status::Pass);
    }

    #[test]
    fn steady_answers_pass_and_a_stall_after_one_answer_fails() {
        let within = SimDuration::from_millis(100);
        let steady = history(&[(0, Some(50)), (60, Some(120)), (130, Some(200))]);
        assert_eq!(judge(&steady, ms(0), ms(1000), within).0, Status::Pass);
        // One answer after the fault, then a client waits for the rest of the run.
        let stalled = history(&[(0, Some(50)), (60, None)]);
        let (status, detail) = judge(&stalled, ms(0), ms(1000), within);
        assert_eq!(status, Status::Fail, "{detail}");
        // No answer within the bound after the fault.
        let late = history(&[(0, Some(500))]);
        assert_eq!(judge(&late, ms(0), ms(1000), within).0, Status::Fail);
        // Done before the fault: nothing to wait for.
        let done = history(&[(0, Some(10))]);
        assert_eq!(judge(&done, ms(20), ms(1000), within).0, Status::Pass);
        // Waiting when the run ended, for less than the bound, after answers: a pass.
        let cut = history(&[(0, Some(50)), (960, None)]);
        assert_eq!(judge(&cut, ms(0), ms(1000), within).0, Status::Pass);
        // No answer since the fault, and the run ended before the bound: undecided.
        let short = history(&[(0, Some(50)), (60, None)]);
        let long = SimDuration::from_millis(500);
        assert_eq!(judge(&short, ms(900), ms(1000), long).0, Status::Unknown);
    }
}
