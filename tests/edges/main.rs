//! Edge and boundary tests that pin down the answers of the public API, one module
//! per area: each assertion is there because a plausible wrong answer (an operator
//! flipped, a function replaced by a constant) would otherwise pass `cargo test`.
//! `docs/mutants.md` says how that is measured.

mod buffer;
mod cookie_list;
mod cow;
mod floating;
mod object;
mod object_lock;
mod parent_link;
mod pool;
mod property;
