#!/usr/bin/env python3
"""Proves the loom models are live: breaks the code on purpose, one way at a time,
and checks that the loom suite then fails.

Each mutant below weakens an ordering or drops a check that a model exists to
guard. The script copies the tree to a scratch directory (the working tree is never
touched), applies one mutant, runs the named loom test file, and expects a failure.
A mutant that survives means a model does not check what it claims: the script
exits non-zero.

Usage: scripts/loom-mutants.py [--target-dir DIR] [NAME...]
       scripts/loom-mutants.py --check   (markers and texts only, no run: seconds)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Not listed because no loom model can kill it: weakening try_unwrap's successful
# compare-exchange to Relaxed. The Acquire load in release_strong_link still orders
# everything the caller does with the value afterwards; what the exchange's Acquire
# orders on its own is the byte copy of T out of the allocation (ManuallyDrop::take),
# which loom cannot observe because it is not a tracked cell access.
#
# Not listed either: a pooled buffer that is out without its tie to the pool's state
# (the state freed under it when the pool handle goes first). That is a use after
# free, which loom does not see; Miri does, in tests/buffer_pool.rs
# (the_pool_dropped_while_buffers_are_out_frees_them_at_their_last_release).
# Nor a refused add dropping the other parent's handle under its locks: add reads
# the child's parent with a handle only before it takes any lock, and under the tree
# locks asks `has_live_parent`, which takes no handle, so there is no handle to drop
# there. loom_hierarchy's an_object_destroyed_by_a_refused_add_is_destroyed_after_the_locks
# keeps the scenario as a regression model.
#
# Nor a starving pass that does not count its steps (CookieIter::next without
# `step`): a writer waiting behind it then evicts it after the stall limit although
# it is stepping, but the writer's looks at the counter conflict with no access of
# the reader's, so loom's partial-order reduction never spreads them across the
# pass. tests/cookie_list/progress.rs a_starving_pass_that_keeps_stepping_is_not_evicted
# catches it.
#
# (name, marker, exact text, replacement, loom test file that must fail[, models]):
# the marker is the id of a `// loom-mutant: <id>` comment in src/ (any file: a
# moved function keeps its mutants); the exact text must occur once in the marked
# window (the WINDOW lines after the marker). A marker that is missing or repeated,
# or text not found in its window, stops the script: nothing is dropped silently.
# Two mutants may share a marker.
# the optional models are the names (libtest filters) of the models in that file to
# run, where the file's other models are slow and not the ones that catch it. A
# filter that matches no model runs nothing, so the mutant survives: loudly.
MUTANTS = [
    ("is_writable Relaxed", "writable-relaxed",
     "self.strong.load(Ordering::Acquire) == 1",
     "self.strong.load(Ordering::Relaxed) == 1",
     "loom_cow"),
    ("drop without its Acquire", "drop-without-acquire",
     "let _ = strong.load(Ordering::Acquire);",
     "let _ = strong.load(Ordering::Relaxed);",
     "loom_cow"),
    ("drop decrement Relaxed", "drop-decrement-relaxed",
     "strong.fetch_sub(1, Ordering::Release)",
     "strong.fetch_sub(1, Ordering::Relaxed)",
     "loom_cow"),
    ("get_writable skips the copy", "get-writable-skips-copy",
     "        if !Self::is_writable(this) {\n",
     "        if false && !Self::is_writable(this) {\n",
     "loom_cow"),
    ("parent check Relaxed", "parent-check-relaxed",
     "(h.strong_count_for_write(), orphaned)",
     "(h.strong_count(), orphaned)",
     "loom_parent_link"),
    ("parent check ignores the parent", "parent-check-ignores-parent",
     "Some((strong, false)) => strong == 1,",
     "Some((_, false)) => true,",
     "loom_parent_link"),
    ("link without counting", "link-without-counting",
     "let old = self.links.fetch_add(1, Ordering::Relaxed);",
     "let old = self.links.load(Ordering::Relaxed);",
     "loom_parent_link"),
    ("link by store, not exchange", "link-store-not-exchange",
     "        match self.parent.compare_exchange(\n            ptr::null_mut(),\n            parent.header.as_ptr(),",
     "        self.parent.store(parent.header.as_ptr(), Ordering::Release);\n        match self.parent.compare_exchange(\n            parent.header.as_ptr(),\n            parent.header.as_ptr(),",
     "loom_parent_link"),
    ("last strong frees despite links", "last-strong-frees-despite-links",
     "if links.load(Ordering::Acquire) == 1 || links.fetch_sub(1, Ordering::AcqRel) == 1",
     "if true",
     "loom_parent_link"),
    ("parent link: a parent that went reads as writable", "parent-check-ignores-parent",
     "Some((strong, false)) => strong == 1,",
     "Some((strong, false)) => strong <= 1,",
     "loom_parent_link"),
    ("parent link: an orphaned link reads its parent's count", "parent-link-orphaned-link-reads-parent-count",
     "Some((_, true)) => false,",
     "Some((strong, true)) => strong == 1,",
     "loom_parent_link"),
    ("parent link: orphan leaves no mark", "parent-link-orphan-leaves-no-mark",
     "header.map_addr(|addr| addr | ORPHANED),",
     "header,",
     "loom_parent_link"),
    ("parent link: the block's own count read Relaxed", "writable-relaxed",
     "self.strong.load(Ordering::Acquire) == 1",
     "self.strong.load(Ordering::Relaxed) == 1",
     "loom_parent_link"),
    ("buffer: Memory::is_writable reads the link before the block's count", "buffer-memory-writable-reads-link-before-block-count",
     "CowShared::is_writable(block) && block.link.parent_is_writable()",
     "block.link.parent_is_writable() && CowShared::is_writable(block)",
     "loom_parent_link"),
    ("buffer: memory_mut does not orphan the shared block it lets go", "buffer-memory-mut-does-not-orphan-shared-block-it-lets-go",
     "            shared.link.orphan(parent);\n",
     "",
     "loom_parent_link"),
    ("buffer: memory_mut orphans the block after releasing its handle", "buffer-memory-mut-does-not-orphan-shared-block-it-lets-go",
     "        let block = CowShared::make_unique_with(slot, |shared| {\n"
     "            let copy = UniqueShared::new(Memory::clone(shared));\n"
     "            shared.link.orphan(parent);\n"
     "            copy\n"
     "        });\n",
     "        let mut old: Option<*const ParentLink> = None;\n"
     "        let block = CowShared::make_unique_with(slot, |shared| {\n"
     "            let copy = UniqueShared::new(Memory::clone(shared));\n"
     "            old = Some(&shared.link);\n"
     "            copy\n"
     "        });\n"
     "        if let Some(link) = old {\n"
     "            // SAFETY: none; a mutant (the other holder keeps the block in the model).\n"
     "            unsafe { &*link }.orphan(parent);\n"
     "        }\n",
     "loom_parent_link"),
    ("buffer: remove_memory does not orphan the shared block it lets go", "buffer-remove-memory-does-not-orphan-shared-block-it-lets-go",
     "Memory::let_go(&mut memory, parent);",
     "Memory::unlink_if_alone(&mut memory);\n        let _ = parent;",
     "loom_parent_link"),
    ("cookie list: next() reports Resync after a Relaxed load only", "cookie-list-resync-reported-without-acquire",
     "let now = self.list.cookie.load(Ordering::Acquire);",
     "let now = self.list.cookie.load(Ordering::Relaxed);",
     "loom_cookie_list"),
    ("cookie list: publish stores the cookie Relaxed", "cookie-list-publish-stores-cookie-relaxed",
     "self.cookie.store(cookie, Ordering::Release);",
     "self.cookie.store(cookie, Ordering::Relaxed);",
     "loom_cookie_list"),
    ("cookie list: next() never checks the cookie", "cookie-list-next-checks-cookie-first",
     "if self.list.cookie.load(Ordering::Relaxed) != self.check {",
     "if false && self.list.cookie.load(Ordering::Relaxed) != self.check {",
     "loom_cookie_list"),
    ("cookie list: next() reaches Done before the cookie check", "cookie-list-next-checks-cookie-first",
     "        if self.list.cookie.load(Ordering::Relaxed) != self.check {\n",
     "        if self.cursor.clone().next().is_none() {\n            return Ok(None);\n        }\n        if self.list.cookie.load(Ordering::Relaxed) != self.check {\n",
     "loom_cookie_list"),
    ("cookie list: a removal does not bump the cookie", "cookie-list-removal-does-not-bump-cookie",
     "        let cookie = writer.next_cookie();",
     "        let cookie = if next.len() < writer.version.len() {\n            writer.cookie\n        } else {\n            writer.next_cookie()\n        };",
     "loom_cookie_list"),
    ("cookie list: load() takes the version and the cookie in two critical sections",
     "cookie-list-load-takes-version-and-cookie-in-two-critical-sections",
     "        self.current.lock().clone()\n",
     "        let version = self.current.lock().version.clone();\n        let cookie = self.current.lock().cookie;\n        Current { cookie, version }\n",
     "loom_cookie_list"),
    ("cookie list: remove_where applies to a changed version", "cookie-list-remove-where-applies-to-changed-version",
     "if writer.cookie == current.cookie {",
     "if true || writer.cookie == current.cookie {",
     "loom_cookie_list"),
    ("cookie list: remove_where skips chunks it has no answer for", "cookie-list-remove-where-skips-chunks-it-has-no-answer-for",
     "                    Some(&Some(offset)) => {\n                        hit = Some((c, offset));\n                        break;\n                    }\n                    None => {\n                        unknown = true;\n                        break;\n                    }",
     "                    Some(&Some(offset)) => {\n                        hit = Some((c, offset));\n                        break;\n                    }\n                    None => {}",
     "loom_cookie_list"),
    ("cookie list: retain keeps chunks it has no answer for", "cookie-list-retain-keeps-chunks-it-has-no-answer-for",
     "                    None => {\n                        unknown = true;\n                        break;\n                    }\n                    Some(None) => chunks.push(",
     "                    None => chunks.push(Kept::Shared(Arc::clone(&chunk.items))),\n                    Some(None) => chunks.push(",
     "loom_cookie_list"),
    ("cookie list: publish leaks the replaced version", "cookie-list-publish-leaks-replaced-version",
     "Retired { _replaced: old }",
     "Retired { _replaced: { core::mem::forget(old.clone()); old } }",
     "loom_cookie_list"),
    ("cookie list: a starving pass's step never checks the cookie", "cookie-list-starving-pass-step-never-checks-cookie",
     "Some(pass) if now == self.cookie => step(&pass.progress),",
     "Some(pass) => step(&pass.progress),",
     "loom_cookie_list"),
    ("cookie list: a writer ignores starving passes", "cookie-list-writer-ignores-starving-passes",
     "if writer.passes() == 0 || writer.turn.is_some() {",
     "if true {",
     "loom_cookie_list"),
    ("cookie list: a starving pass's mark is never cleared", "cookie-list-starving-pass-mark-never-cleared",
     ".leave(pass.phase, |ticket, _| ticket == pass.ticket);",
     ".leave(pass.phase, |_, _| false);",
     "loom_cookie_list"),
    ("cookie list: a stalled starving pass is never evicted", "cookie-list-stalled-starving-pass-never-evicted",
     "} else if clock.expired() {",
     "} else if false && clock.expired() {",
     "loom_cookie_list"),
    ("floating: ref_sink adopts a reference that is not floating", "floating-ref-sink-adopts-reference-that-not-floating",
     "                if word & FLOATING == 0 {\n                    return None;\n                }\n                if word & ADOPTED_MASK",
     "                if word & ADOPTED_MASK",
     "loom_floating"),
    ("floating: a floating handle ignores that its reference was adopted", "floating-floating-handle-ignores-that-reference-was-adopted",
     "floated = generation(word) == claim && word & FLOATING != 0;",
     "floated = generation(word) == claim;",
     "loom_floating"),
    ("floating: the claim is a load and a store, not one exchange", "floating-claim-load-and-store-not-one-exchange",
     "        self.0\n            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| {",
     "        let word = self.0.load(Ordering::Relaxed);\n        loom::thread::yield_now();\n        self.0.store(word, Ordering::Relaxed);\n        self.0\n            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |_| {",
     "loom_floating"),
    ("object lock: a waiter takes any holder for itself", "object-lock-waiter-takes-any-holder-for-itself",
     "            if holder == me {",
     "            if holder != 0 {",
     "loom_object_lock"),
    ("object lock: the unlock does not release", "object-lock-unlock-does-not-release",
     "            .compare_exchange(me, 0, Ordering::Release, Ordering::Relaxed)",
     "            .compare_exchange(me, 0, Ordering::Relaxed, Ordering::Relaxed)",
     "loom_object_lock"),
    ("object lock: the uncontended lock does not acquire", "object-lock-uncontended-lock-does-not-acquire",
     "            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)",
     "            .compare_exchange(0, me, Ordering::Relaxed, Ordering::Relaxed)",
     "loom_object_lock"),
    ("object lock: unlocked does not take the lock again", "object-lock-unlocked-does-not-take-lock-again",
     "                    .acquire(guard.me, || \"an ObjectLock (taken again after `unlocked`)\");",
     "                    .is_locked();",
     "loom_object_lock"),
    ("object lock: try_lock ignores the lock", "object-lock-try-lock-ignores-lock",
     "                Err(now) => word = now,\n            }\n        }\n        None",
     "                Err(now) => word = now,\n            }\n        }\n        // SAFETY: none: the mutant hands out a guard without the lock.\n        Some(unsafe { self.make_guard_unchecked(me) })",
     "loom_object_lock"),
    ("hierarchy: add without the tree locks", "hierarchy-add-without-tree-locks",
     "            let first_tree = first.inner.tree.lock();\n            let second_tree = second.inner.tree.lock();",
     "            let first_tree = first;\n            let second_tree = second;",
     "loom_hierarchy", ["opposite_adds_neither_deadlock_nor_cycle"]),
    ("hierarchy: add locks the parent's tree only", "hierarchy-add-without-tree-locks",
     "            let first_tree = first.inner.tree.lock();\n            let second_tree = second.inner.tree.lock();",
     "            let first_tree = root_ref.inner.tree.lock();\n            let second_tree = (first, second);",
     "loom_hierarchy", ["opposite_adds_neither_deadlock_nor_cycle"]),
    ("hierarchy: add does not re-check the roots under the tree locks", "hierarchy-add-does-not-re-check-roots-under-tree-locks",
     "let settled = !child.has_live_parent() && self.root_is(root_ref, &mut keep);",
     "let settled = !child.has_live_parent() && true;",
     "loom_hierarchy", ["opposite_adds_neither_deadlock_nor_cycle", "two_trees_each_added_under_the_others_leaf"]),
    ("hierarchy: a tree change does not re-check its root under the tree lock",
     "hierarchy-tree-change-does-not-re-check-root-under-tree-lock",
     "            if self.root_is(root_ref, &mut keep) {\n                let changed = change();",
     "            if { let _ = self.root_is(root_ref, &mut keep); true } {\n                let changed = change();",
     "loom_hierarchy", ["unparent_racing_a_merge_then_a_remove"]),
    ("hierarchy: add ignores the child's parent", "hierarchy-add-ignores-child-parent",
     "if let Some(parent) = child.parent() {",
     "if let Some(parent) = None::<Object<T>> {",
     "loom_hierarchy", ["one_child_two_parents_one_winner"]),
    ("hierarchy: add's re-check under the tree locks ignores a parent the child got meanwhile",
     "hierarchy-add-does-not-re-check-roots-under-tree-locks",
     "let settled = !child.has_live_parent() && self.root_is(root_ref, &mut keep);",
     "let settled = self.root_is(root_ref, &mut keep);",
     "loom_hierarchy", ["one_child_two_parents_one_winner"]),
    ("hierarchy: a weak parent upgrades from zero", "hierarchy-weak-parent-upgrades-from-zero",
     "            if count == 0 {\n                return false;\n            }",
     "",
     "loom_hierarchy"),
    ("hierarchy: remove leaves the child's parent link", "hierarchy-remove-leaves-child-parent-link",
     "        child_core.parent = None;\n        drop(child_core);\n        let removed",
     "        drop(child_core);\n        let removed",
     "loom_hierarchy", ["add_and_remove_racing_an_iteration", "two_unparents_have_one_winner"]),
    ("hierarchy: set_name drops the parent's handle under the child's lock", "hierarchy-set-name-drops-parent-handle-under-child-lock",
     "        let parent = Self::live_parent(&core.parent);\n        if parent.is_some() {",
     "        let parent = None::<Object<T>>;\n        if Self::live_parent(&core.parent).is_some() {",
     "loom_hierarchy", ["a_rename_racing_the_parents_last_drop"]),
    ("hierarchy: the object guard keeps no parent reference of its own", "hierarchy-object-guard-keeps-no-parent-reference-own",
     "        self.parent\n            .get_or_init(|| Object::live_parent(&self.core.parent))\n            .clone()",
     "        Object::live_parent(&self.core.parent)",
     "loom_hierarchy", ["a_parent_from_the_guard_dropped_under_the_guard"]),
    ("hierarchy: unparent reads the parent and removes in two critical sections",
     "hierarchy-unparent-reads-parent-and-removes-in-two-critical-sections",
     "        let (removed, parent) = self.with_tree_locked(|| {\n            // Under the tree's lock the parent read here stays the parent (a dying\n            // parent, which `parent()` no longer upgrades, counts as none).\n            let parent = self.parent();",
     "        let parent = self.parent();\n        let (removed, parent) = self.with_tree_locked(|| {\n            // Under the tree's lock the parent read here stays the parent (a dying\n            // parent, which `parent()` no longer upgrades, counts as none).",
     "loom_hierarchy", ["two_unparents_have_one_winner"]),
    ("property: the loom/Miri rcu stand-in runs the closure under its mutex", "property-loom-miri-rcu-stand-in-runs-closure-under-mutex",
     "            let current = self.load_full();\n            let new = Arc::new(f(&current));\n            let mut slot = self.0.lock();",
     "            let mut slot = self.0.lock();\n            let current = Arc::clone(&slot);\n            let new = Arc::new(f(&current));",
     "loom_property"),
    ("property: the loom/Miri rcu stand-in stores over a newer value", "property-loom-miri-rcu-stand-in-stores-over-newer-value",
     "            if Arc::ptr_eq(&slot, &current) {",
     "            if true {",
     "loom_property"),
    ("buffer pool: returned twice (the last is decided by a load before the decrement)",
     "buffer-pool-returned-twice-last-decided-load-before-decrement",
     "        if count.fetch_sub(1, Ordering::Release) != 1 {",
     "        let seen = count.load(Ordering::Relaxed);\n        count.fetch_sub(1, Ordering::Release);\n        if seen > 2 {",
     "loom_buffer_pool"),
    ("buffer pool: the last release takes the buffer back without its Acquire", "buffer-pool-last-release-takes-buffer-back-without-acquire",
     "let _ = count.load(Ordering::Acquire);",
     "let _ = count.load(Ordering::Relaxed);",
     "loom_buffer_pool"),
    ("buffer pool: returned while a block is still shared", "buffer-pool-returned-while-block-still-shared",
     "CowShared::is_writable(block) && block.len() == config.block_len",
     "block.len() == config.block_len",
     "loom_buffer_pool"),
    ("buffer pool: flushing ignored", "buffer-pool-flushing-ignored",
     "        if self.is_flushing() {\n            return Err(AcquireError::Flushing);",
     "        if false {\n            return Err(AcquireError::Flushing);",
     "loom_buffer_pool"),
    ("buffer pool: the free list's push publishes Relaxed", "buffer-pool-free-list-push-publishes-relaxed",
     ".compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)",
     ".compare_exchange_weak(head, new, Ordering::Relaxed, Ordering::Relaxed)",
     "loom_buffer_pool"),
    ("buffer pool: a return does not wake a sleeping acquirer", "buffer-pool-return-does-not-wake-sleeping-acquirer",
     "if self.free.push(index) {",
     "if self.free.push(index) && false {",
     "loom_buffer_pool"),
    ("buffer pool: an acquirer sleeps without marking the free list", "buffer-pool-acquirer-sleeps-without-marking-free-list",
     "if !self.shared.free.mark_sleepers() {",
     "if false && !self.shared.free.mark_sleepers() {",
     "loom_buffer_pool"),
    ("buffer pool: the last holder's in-place check Relaxed", "writable-relaxed",
     "self.strong.load(Ordering::Acquire) == 1",
     "self.strong.load(Ordering::Relaxed) == 1",
     "loom_buffer_pool"),
    # The cargo-mutants survivors that only a loom model can catch
    # (docs/mutants/survivors.md, "Caught only outside `cargo test`").
    ("object lock: a waiter parks while the lock is held without the parked flag",
     "object-lock-waiter-parks-without-parked-flag",
     "now & PARKED != 0 && now & !PARKED != 0",
     "now & PARKED != 0 || now & !PARKED != 0",
     "loom_object_lock"),
    ("hierarchy: one lock order for every object", "hierarchy-one-lock-order-for-every-object",
     "return self.inner.lock_order;",
     "return 0;",
     "loom_hierarchy", ["opposite_adds"]),
    # cargo-mutants' `<` -> `==` in add's lock order: false for two distinct objects,
    # so every add takes the child's tree lock first, whatever the objects.
    ("hierarchy: add takes the child's tree lock first, whatever the order",
     "hierarchy-add-ignores-child-parent",
     "if root_ref.lock_order() < child_tree.lock_order() {",
     "if root_ref.lock_order() == child_tree.lock_order() {",
     "loom_hierarchy", ["opposite_adds"]),
    # cargo-mutants' `&&` -> `||` in add's re-check: either check passing settles it.
    ("hierarchy: add's re-check under the tree locks settles on either check",
     "hierarchy-add-does-not-re-check-roots-under-tree-locks",
     "let settled = !child.has_live_parent() && self.root_is(root_ref, &mut keep);",
     "let settled = !child.has_live_parent() || self.root_is(root_ref, &mut keep);",
     "loom_hierarchy", ["one_child_two_parents_one_winner"]),
    ("parent link: a link that lost the race keeps its count on the parent",
     "link-lost-race-keeps-its-count",
     "parent.header().undo_link();",
     "let _ = parent.header();",
     "loom_parent_link"),
    ("cookie list: the loom stall clock never expires", "stall-clock-never-expires",
     "self.calls >= STALL_ROUNDS",
     "self.calls < STALL_ROUNDS",
     "loom_cookie_list"),
]


# How far below its marker a mutant's text may start.
WINDOW = 12


def find_marked(tree, marker):
    """The file holding `// loom-mutant: <marker>` (exactly once in src/), its text,
    and the span of the WINDOW lines after the marker line."""
    tag = re.compile(r"//\s*loom-mutant:\s*" + re.escape(marker) + r"\s*$", re.M)
    found = []
    for dirpath, _, names in os.walk(os.path.join(tree, "src")):
        for fname in names:
            if fname.endswith(".rs"):
                path = os.path.join(dirpath, fname)
                with open(path) as f:
                    text = f.read()
                found += [(path, text, m) for m in tag.finditer(text)]
    if len(found) != 1:
        print(f"MARKER `loom-mutant: {marker}`: found {len(found)} times in src/ "
              "(expected once); put it back above the code its mutants break")
        sys.exit(2)
    path, text, m = found[0]
    start = text.index("\n", m.end()) + 1 if "\n" in text[m.end():] else len(text)
    end = start
    for _ in range(WINDOW):
        nl = text.find("\n", end)
        end = len(text) if nl < 0 else nl + 1
    return path, text, start, end


def check_markers():
    """Every marker in src/ is used by a mutant: a mutant removed from the list
    leaves no orphan comment behind."""
    used = {m[1] for m in MUTANTS}
    tag = re.compile(r"//\s*loom-mutant:\s*(\S+)")
    orphans = []
    for dirpath, _, names in os.walk(os.path.join(ROOT, "src")):
        for fname in names:
            if fname.endswith(".rs"):
                with open(os.path.join(dirpath, fname)) as f:
                    orphans += [(fname, t) for t in tag.findall(f.read()) if t not in used]
    for fname, t in orphans:
        print(f"MARKER `loom-mutant: {t}` in {fname} is used by no mutant")
    if orphans:
        sys.exit(2)


def run(cmd, cwd, env):
    return subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def main():
    ap = argparse.ArgumentParser()
    # A target dir of its own: artifact names do not depend on where the workspace
    # sits, so a mutant built in the loom suite's dir could be taken as fresh there.
    ap.add_argument("--target-dir", default=os.path.join(ROOT, "target", "loom-mutants"))
    ap.add_argument("--check", action="store_true",
                    help="only check that every marker and every mutant's text is in place")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    if args.check:
        check_markers()
        for name, marker, old, *_ in MUTANTS:
            file, text, start, end = find_marked(ROOT, marker)
            if text[start:end].count(old) != 1:
                print(f"MUTANT {name!r}: text not found exactly once in the {WINDOW} lines "
                      f"after `loom-mutant: {marker}` in {os.path.relpath(file, ROOT)}")
                sys.exit(2)
        print(f"loom mutants: all {len(MUTANTS)} markers and texts in place")
        return
    env = dict(os.environ, RUSTFLAGS="--cfg loom", LOOM_MAX_PREEMPTIONS="3",
               CARGO_TARGET_DIR=os.path.abspath(args.target_dir))
    check_markers()
    chosen = [m for m in MUTANTS if not args.names or m[0] in args.names]
    survived = []
    with tempfile.TemporaryDirectory(prefix="mtsafe-mutants-") as scratch:
        tree = os.path.join(scratch, "tree")
        shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
            "target*", ".git"))
        for name, marker, old, new, test, *models in chosen:
            file, original, start, end = find_marked(tree, marker)
            window = original[start:end]
            if window.count(old) != 1:
                print(f"MUTANT {name!r}: text not found exactly once in the {WINDOW} lines "
                      f"after `loom-mutant: {marker}` in {os.path.relpath(file, tree)}; "
                      "update the list")
                sys.exit(2)
            with open(file, "w") as f:
                f.write(original[:start] + window.replace(old, new) + original[end:])
            try:
                filters = ["--", *models[0]] if models else []
                out = run(["cargo", "test", "-p", "mtsafe-loom-tests", "--release",
                           "--test", test, *filters], tree, env)
            finally:
                with open(file, "w") as f:
                    f.write(original)
            if "could not compile" in out.stdout or "error[E" in out.stdout:
                print(f"MUTANT {name!r}: does not compile; update the list\n{out.stdout[-2000:]}")
                sys.exit(2)
            if out.returncode == 0:
                print(f"SURVIVED  {name}  ({test} still passes)")
                survived.append(name)
            else:
                failed = [l.split()[1] for l in out.stdout.splitlines()
                          if l.startswith("test ") and l.endswith("FAILED")]
                print(f"killed    {name}  by {test}: {', '.join(failed) or 'a crash'}")
    total = len(chosen)
    print(f"loom mutants: {total - len(survived)} killed, {len(survived)} survived of {total}")
    sys.exit(1 if survived else 0)


if __name__ == "__main__":
    main()
