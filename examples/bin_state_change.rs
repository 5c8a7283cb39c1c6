//! GStreamer's state-change loop, with mtsafe's object model.
//!
//! A bin changes the state of each of its children in turn. The change is a
//! blocking call (here: a sleep standing in for a device opening), so it runs with
//! no lock held, on a reference the children iterator handed out. Meanwhile another
//! thread adds and removes children. When the iterator reports `Resync`, the bin
//! rolls back what it did in this pass (GStreamer's `gst_bin_change_state` resyncs
//! and restarts the same way) and starts again, until one pass completes at a single
//! cookie: then every child present at that moment is in the new state.
//!
//! Run: `cargo run --release --example bin_state_change`.

use std::fmt;
use std::thread;
use std::time::Duration;

use mtsafe::{Object, ObjectLock, Resync, ResyncIterator};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Null,
    Ready,
    Playing,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// An element's data: its state, under the element's own lock.
struct Element {
    state: ObjectLock<State>,
}

type Elem = Object<Element>;

fn element(name: &str) -> mtsafe::Floating<Element> {
    Object::with_name(
        name,
        Element {
            state: ObjectLock::new(State::Null),
        },
    )
}

/// The blocking part of a state change: no lock is held while it runs.
fn change_state(child: &Elem, to: State) -> State {
    let from = *child.state.lock();
    thread::sleep(Duration::from_millis(3));
    *child.state.lock() = to;
    from
}

/// Brings every child of `bin` to `to`: one pass over the children with the resync
/// iterator, rolled back and restarted whenever the children change under it.
fn set_children_state(bin: &Elem, to: State) {
    let mut it = bin.children();
    let mut done: Vec<(Elem, State)> = Vec::new();
    let mut attempts = 1;
    loop {
        match it.next() {
            Ok(Some(child)) => {
                let from = change_state(&child, to);
                println!("  {} {from} -> {to}", child.name());
                done.push((child, from));
            }
            Ok(None) => break,
            Err(Resync) => {
                println!(
                    "  children changed (cookie now {}): rolling back {} change(s), resync",
                    bin.children_cookie(),
                    done.len()
                );
                for (child, from) in done.drain(..).rev() {
                    change_state(&child, from);
                    println!("  {} back to {from}", child.name());
                }
                it.resync();
                attempts += 1;
            }
        }
    }
    println!(
        "pass {attempts} completed: {} children now {to}",
        done.len()
    );
}

fn main() -> Result<(), mtsafe::ObjectError> {
    let bin = element("bin").sink();
    for name in ["src", "filter", "sink"] {
        bin.add(element(name))?;
    }
    println!(
        "bin has {} children: {:?}",
        bin.n_children(),
        bin.children_snapshot()
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
    );

    thread::scope(|s| {
        // Another thread changes the children while the bin walks them.
        s.spawn(|| {
            thread::sleep(Duration::from_millis(4));
            bin.add(element("queue")).unwrap();
            println!("  [other thread] added queue");
            thread::sleep(Duration::from_millis(8));
            let filter = bin.child_by_name("filter").unwrap();
            bin.remove(&filter).unwrap();
            println!(
                "  [other thread] removed filter (its state: {})",
                *filter.state.lock()
            );
        });
        println!("bin: Null -> Ready");
        set_children_state(&bin, State::Ready);
    });

    println!("bin: Ready -> Playing (no one changes the children now)");
    set_children_state(&bin, State::Playing);

    let states: Vec<String> = bin
        .children_snapshot()
        .iter()
        .map(|c| format!("{}={}", c.name(), *c.state.lock()))
        .collect();
    println!("final: {}", states.join(" "));
    assert!(bin
        .children_snapshot()
        .iter()
        .all(|c| *c.state.lock() == State::Playing));
    Ok(())
}
