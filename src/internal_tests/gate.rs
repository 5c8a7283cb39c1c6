//! The progress gate's bookkeeping, step by step, with no thread: which phase a pass
//! or a writer joins, what leaving, a writer's end and an eviction do to the phases
//! and the counts. A wrong count here makes a writer wait for ever in the tests that
//! use the gate through a list; here it is a wrong answer, found at once.

use super::{Gate, Phase, Registration};
use crate::sync::Arc;

/// The phases as text: `P[ticket@thread ...]` for passes, `W<count>` for writers.
fn shape(gate: &Gate) -> Vec<String> {
    gate.phases
        .iter()
        .map(|phase| match phase {
            Phase::Passes { members, .. } => {
                let m: Vec<String> = members.iter().map(|(t, th)| format!("{t}@{th}")).collect();
                format!("P[{}]", m.join(" "))
            }
            Phase::Writers { count } => format!("W{count}"),
        })
        .collect()
}

fn at(reg: &Registration) -> (u64, u64) {
    (reg.phase, reg.ticket)
}

#[test]
fn passes_share_the_last_phase_of_passes_and_writers_queue_behind_them() {
    let mut gate = Gate::new();
    assert_eq!((gate.first, gate.passes), (0, 0));
    assert!(shape(&gate).is_empty());

    let a = gate.register(7);
    let b = gate.register(8);
    assert_eq!((at(&a), at(&b)), ((0, 0), (0, 1)));
    assert!(
        Arc::ptr_eq(&a.progress, &b.progress),
        "one phase, one counter"
    );
    assert_eq!(gate.passes, 2);
    assert_eq!(shape(&gate), ["P[0@7 1@8]"]);

    // Writers arriving now wait behind both passes, and watch their counter.
    let (w1, progress) = gate.join_writers();
    let (w2, _) = gate.join_writers();
    assert_eq!((w1, w2), (1, 1));
    assert!(Arc::ptr_eq(&progress, &a.progress));
    assert_eq!(shape(&gate), ["P[0@7 1@8]", "W2"]);

    // A pass arriving after the writers waits for them: a phase of its own.
    let c = gate.register(9);
    assert_eq!(at(&c), (2, 2));
    assert!(!Arc::ptr_eq(&c.progress, &a.progress));
    assert_eq!(gate.passes, 3);
    assert_eq!(shape(&gate), ["P[0@7 1@8]", "W2", "P[2@9]"]);
    assert!(gate.holds(&a) && gate.holds(&b) && gate.holds(&c));
    assert!(matches!(gate.get(1), Some(Phase::Writers { count: 2 })));
    assert!(gate.get(3).is_none());

    // One pass of the front phase leaves: the phase still runs.
    gate.leave(0, |ticket, _| ticket == a.ticket);
    assert!(!gate.holds(&a) && gate.holds(&b));
    assert_eq!((gate.first, gate.passes), (0, 2));
    assert_eq!(shape(&gate), ["P[1@8]", "W2", "P[2@9]"]);

    // A writer's end counts its phase down (in a list, only the front phase's
    // writers end; the count is what is checked here).
    gate.writer_done(1);
    assert_eq!(shape(&gate), ["P[1@8]", "W1", "P[2@9]"]);
    assert_eq!(gate.first, 0);

    // The last pass of the front phase leaves (by thread): the writers' phase runs.
    gate.leave(0, |_, thread| thread == 8);
    assert!(!gate.holds(&b));
    assert_eq!((gate.first, gate.passes), (1, 1));
    assert_eq!(shape(&gate), ["W1", "P[2@9]"]);
    assert!(
        gate.get(0).is_none(),
        "a phase before the front one is gone"
    );
    assert!(gate.get_mut(0).is_none());

    // Evicting a phase that is not the front one, or not one of passes, does nothing.
    gate.evict(2);
    gate.evict(1);
    assert_eq!((gate.first, gate.passes), (1, 1));
    assert!(gate.holds(&c));

    // The last writer is done: the pass's phase runs.
    gate.writer_done(1);
    assert_eq!((gate.first, gate.passes), (2, 1));
    assert_eq!(shape(&gate), ["P[2@9]"]);
    assert!(gate.holds(&c));

    // Leaving a phase that is not one of passes, or with no such member, changes no
    // count.
    gate.leave(5, |_, _| true);
    gate.leave(2, |ticket, _| ticket == 99);
    assert_eq!((gate.first, gate.passes), (2, 1));

    // Eviction ends the front phase of passes: every member loses its place.
    gate.evict(2);
    assert!(!gate.holds(&c));
    assert_eq!((gate.first, gate.passes), (3, 0));
    assert!(shape(&gate).is_empty());

    // A new pass starts at the next phase number, with the next ticket.
    let d = gate.register(7);
    assert_eq!(at(&d), (3, 3));
    assert!(gate.holds(&d));
}

#[test]
fn eviction_keeps_the_writers_behind_and_the_passes_after_them() {
    let mut gate = Gate::new();
    let a = gate.register(1);
    let b = gate.register(2);
    let (w, _) = gate.join_writers();
    let c = gate.register(3);
    assert_eq!(w, 1);
    gate.evict(0);
    assert!(!gate.holds(&a) && !gate.holds(&b) && gate.holds(&c));
    assert_eq!((gate.first, gate.passes), (1, 1));
    assert_eq!(shape(&gate), ["W1", "P[2@3]"]);
    // Writers join the last phase of writers only: behind `c`, a new one.
    let (w2, progress) = gate.join_writers();
    assert_eq!(w2, 3);
    assert!(Arc::ptr_eq(&progress, &c.progress));
    assert_eq!(shape(&gate), ["W1", "P[2@3]", "W1"]);
    gate.writer_done(1);
    gate.leave(2, |_, _| true);
    assert_eq!((gate.first, gate.passes), (3, 0));
    gate.writer_done(3);
    assert_eq!(gate.first, 4);
    assert!(shape(&gate).is_empty());
}
