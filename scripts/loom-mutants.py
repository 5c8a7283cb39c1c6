#!/usr/bin/env python3
"""Proves the loom models are live: breaks the code on purpose, one way at a time,
and checks that the loom suite then fails.

Each mutant below weakens an ordering or drops a check that a model exists to
guard. The script copies the tree to a scratch directory (the working tree is never
touched), applies one mutant, runs the named loom test file, and expects a failure.
A mutant that survives means a model does not check what it claims: the script
exits non-zero.

Usage: scripts/loom-mutants.py [--target-dir DIR] [NAME...]
"""
import argparse
import os
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
# Nor is a starving pass that does not count its steps (CookieIter::next without
# `step`): a writer waiting behind it then evicts it after the stall limit although
# it is stepping, but the writer's looks at the counter conflict with no access of
# the reader's, so loom's partial-order reduction never spreads them across the
# pass. tests/cookie_list.rs a_starving_pass_that_keeps_stepping_is_not_evicted
# catches it.
#
# (name, file, exact text, replacement, loom test file that must fail)
MUTANTS = [
    ("is_writable Relaxed", "src/cow.rs",
     "this.header().strong.load(Ordering::Acquire) == 1",
     "this.header().strong.load(Ordering::Relaxed) == 1",
     "loom_cow"),
    ("drop without its Acquire", "src/cow.rs",
     "let _ = self.header().strong.load(Ordering::Acquire);",
     "let _ = self.header().strong.load(Ordering::Relaxed);",
     "loom_cow"),
    ("drop decrement Relaxed", "src/cow.rs",
     "self.header().strong.fetch_sub(1, Ordering::Release)",
     "self.header().strong.fetch_sub(1, Ordering::Relaxed)",
     "loom_cow"),
    ("get_writable skips the copy", "src/cow.rs",
     "        if !Self::is_writable(this) {\n            Self::copy_into(this);",
     "        if false && !Self::is_writable(this) {\n            Self::copy_into(this);",
     "loom_cow"),
    ("parent check Relaxed", "src/parent_link.rs",
     "match self.parent_strong(Ordering::Acquire) {",
     "match self.parent_strong(Ordering::Relaxed) {",
     "loom_parent_link"),
    ("parent check ignores the parent", "src/parent_link.rs",
     "Some(strong) => strong <= 1,",
     "Some(_) => true,",
     "loom_parent_link"),
    ("link without counting", "src/parent_link.rs",
     "let old = links.fetch_add(1, Ordering::Relaxed);",
     "let old = links.load(Ordering::Relaxed);",
     "loom_parent_link"),
    ("link by store, not exchange", "src/parent_link.rs",
     "        match self.parent.compare_exchange(\n            ptr::null_mut(),\n            parent.header.as_ptr(),",
     "        self.parent.store(parent.header.as_ptr(), Ordering::Release);\n        match self.parent.compare_exchange(\n            parent.header.as_ptr(),\n            parent.header.as_ptr(),",
     "loom_parent_link"),
    ("last strong frees despite links", "src/cow.rs",
     "if links.load(Ordering::Acquire) == 1 || links.fetch_sub(1, Ordering::AcqRel) == 1",
     "if true",
     "loom_parent_link"),
    ("cookie list: next() loads the cookie Relaxed", "src/cookie_list.rs",
     "if self.list.cookie.load(Ordering::Acquire) != self.check {",
     "if self.list.cookie.load(Ordering::Relaxed) != self.check {",
     "loom_cookie_list"),
    ("cookie list: publish stores the cookie Relaxed", "src/cookie_list.rs",
     "self.cookie.store(cookie, Ordering::Release);",
     "self.cookie.store(cookie, Ordering::Relaxed);",
     "loom_cookie_list"),
    ("cookie list: next() never checks the cookie", "src/cookie_list.rs",
     "if self.list.cookie.load(Ordering::Acquire) != self.check {",
     "if false && self.list.cookie.load(Ordering::Acquire) != self.check {",
     "loom_cookie_list"),
    ("cookie list: next() reaches Done before the cookie check", "src/cookie_list.rs",
     "        if self.list.cookie.load(Ordering::Acquire) != self.check {\n",
     "        if self.cursor.chunk == self.cursor.version.chunks().len()\n            && self.cursor.offset == unsafe { self.cursor.items.as_ref() }.len()\n        {\n            return Ok(None);\n        }\n        if self.list.cookie.load(Ordering::Acquire) != self.check {\n",
     "loom_cookie_list"),
    ("cookie list: a removal does not bump the cookie", "src/cookie_list.rs",
     "        let cookie = writer.next_cookie();",
     "        let cookie = if next.len() < writer.version.len() {\n            writer.cookie\n        } else {\n            writer.next_cookie()\n        };",
     "loom_cookie_list"),
    ("cookie list: load() takes the version and the cookie in two critical sections",
     "src/cookie_list.rs",
     "        self.current.lock().clone()\n",
     "        let version = self.current.lock().version.clone();\n        let cookie = self.current.lock().cookie;\n        Current { cookie, version }\n",
     "loom_cookie_list"),
    ("cookie list: remove_where applies to a changed version", "src/cookie_list.rs",
     "if writer.cookie == current.cookie {",
     "if true || writer.cookie == current.cookie {",
     "loom_cookie_list"),
    ("cookie list: remove_where skips chunks it has no answer for", "src/cookie_list.rs",
     "                    Some(&Some(offset)) => {\n                        hit = Some((c, offset));\n                        break;\n                    }\n                    None => {\n                        unknown = true;\n                        break;\n                    }",
     "                    Some(&Some(offset)) => {\n                        hit = Some((c, offset));\n                        break;\n                    }\n                    None => {}",
     "loom_cookie_list"),
    ("cookie list: retain keeps chunks it has no answer for", "src/cookie_list.rs",
     "                    None => {\n                        unknown = true;\n                        break;\n                    }\n                    Some(None) => chunks.push(",
     "                    None => chunks.push(Kept::Shared(Arc::clone(&chunk.items))),\n                    Some(None) => chunks.push(",
     "loom_cookie_list"),
    ("cookie list: publish leaks the replaced version", "src/cookie_list.rs",
     "Retired { _replaced: old }",
     "Retired { _replaced: { core::mem::forget(old.clone()); old } }",
     "loom_cookie_list"),
    ("cookie list: a starving pass's step never checks the cookie", "src/cookie_list.rs",
     "            // Acquire: as in the check above.\n            if self.list.cookie.load(Ordering::Acquire) != self.cookie {\n                return Err(Resync);\n            }\n            step(&pass.progress);",
     "            step(&pass.progress);",
     "loom_cookie_list"),
    ("cookie list: a writer ignores starving passes", "src/cookie_list.rs",
     "if writer.passes() == 0 || writer.turn.is_some() {",
     "if true {",
     "loom_cookie_list"),
    ("cookie list: a starving pass's mark is never cleared", "src/cookie_list.rs",
     ".leave(pass.phase, |ticket, _| ticket == pass.ticket);",
     ".leave(pass.phase, |_, _| false);",
     "loom_cookie_list"),
    ("cookie list: a stalled starving pass is never evicted", "src/cookie_list.rs",
     "} else if clock.expired() {",
     "} else if false && clock.expired() {",
     "loom_cookie_list"),
    ("floating: ref_sink adopts a reference that is not floating", "src/floating.rs",
     "                if word & FLOATING == 0 {\n                    return None;\n                }\n                if word & ADOPTED_MASK",
     "                if word & ADOPTED_MASK",
     "loom_floating"),
    ("floating: a floating handle ignores that its reference was adopted", "src/floating.rs",
     "floated = generation(word) == claim && word & FLOATING != 0;",
     "floated = generation(word) == claim;",
     "loom_floating"),
    ("floating: the claim is a load and a store, not one exchange", "src/floating.rs",
     "        self.0\n            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| {\n                if word & FLOATING == 0 {",
     "        let word = self.0.load(Ordering::Relaxed);\n        loom::thread::yield_now();\n        self.0.store(word, Ordering::Relaxed);\n        self.0\n            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |_| {\n                if word & FLOATING == 0 {",
     "loom_floating"),
    ("object lock: a waiter takes any holder for itself", "src/object_lock.rs",
     "if self.owner.load(Ordering::Relaxed) == me {",
     "if self.owner.load(Ordering::Relaxed) != 0 {",
     "loom_object_lock"),
    ("object lock: the guard unlocks before clearing the owner", "src/object_lock.rs",
     "        self.lock.owner.store(0, Ordering::Relaxed);\n        // SAFETY: this guard took the lock on this thread (the guard is not `Send`).\n        unsafe { self.lock.raw.unlock() }",
     "        // SAFETY: this guard took the lock on this thread (the guard is not `Send`).\n        unsafe { self.lock.raw.unlock() }\n        self.lock.owner.store(0, Ordering::Relaxed);",
     "loom_object_lock"),
    ("object lock: try_lock ignores the lock", "src/object_lock.rs",
     "        if !self.raw.try_lock() {\n            return None;\n        }",
     "        let _ = self.raw.try_lock();",
     "loom_object_lock"),
    ("hierarchy: add without the hierarchy lock", "src/object.rs",
     "        let hierarchy = hierarchy_lock();\n        // Parent links",
     "        let hierarchy = ();\n        // Parent links",
     "loom_hierarchy"),
    ("hierarchy: a refused add drops the other parent's handle under the locks",
     "src/object.rs",
     "                return Some(Refusal::HasParent(parent));",
     "                drop(parent);\n                return Some(Refusal::HasParent(child.clone()));",
     "loom_hierarchy"),
    ("hierarchy: add ignores the child's parent", "src/object.rs",
     "if let Some(parent) = Self::live_parent(&child_core.parent) {",
     "if let Some(parent) = None::<Object<T>> {",
     "loom_hierarchy"),
    ("hierarchy: a weak parent upgrades from zero", "src/cow.rs",
     "            if count == 0 {\n                return None;\n            }",
     "",
     "loom_hierarchy"),
    ("hierarchy: remove leaves the child's parent link", "src/object.rs",
     "            child_core.parent = None;\n            drop(child_core);\n            let removed",
     "            drop(child_core);\n            let removed",
     "loom_hierarchy"),
    ("buffer pool: acquire skips the free check", "src/buffer/pool.rs",
     ".find(|&i| Self::is_free(&self.buffers[i]));",
     ".find(|&i| i < n || Self::is_free(&self.buffers[i]));",
     "loom_buffer_pool"),
    ("buffer pool: free checks the buffer, not its blocks", "src/buffer/pool.rs",
     "CowShared::is_writable(buffer) && buffer.memories().iter().all(CowShared::is_writable)",
     "CowShared::is_writable(buffer)",
     "loom_buffer_pool"),
    ("buffer pool: is_writable Relaxed under the pool's refill", "src/cow.rs",
     "this.header().strong.load(Ordering::Acquire) == 1",
     "this.header().strong.load(Ordering::Relaxed) == 1",
     "loom_buffer_pool"),
]


def run(cmd, cwd, env):
    return subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def main():
    ap = argparse.ArgumentParser()
    # A target dir of its own: artifact names do not depend on where the workspace
    # sits, so a mutant built in the loom suite's dir could be taken as fresh there.
    ap.add_argument("--target-dir", default=os.path.join(ROOT, "target", "loom-mutants"))
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    env = dict(os.environ, RUSTFLAGS="--cfg loom", LOOM_MAX_PREEMPTIONS="3",
               CARGO_TARGET_DIR=os.path.abspath(args.target_dir))
    chosen = [m for m in MUTANTS if not args.names or m[0] in args.names]
    survived = []
    with tempfile.TemporaryDirectory(prefix="mtsafe-mutants-") as scratch:
        tree = os.path.join(scratch, "tree")
        shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
            "target*", ".git"))
        for name, path, old, new, test in chosen:
            file = os.path.join(tree, path)
            with open(file) as f:
                original = f.read()
            if original.count(old) != 1:
                print(f"MUTANT {name!r}: text not found exactly once in {path}; update the list")
                sys.exit(2)
            with open(file, "w") as f:
                f.write(original.replace(old, new))
            try:
                out = run(["cargo", "test", "-p", "mtsafe-loom-tests", "--release",
                           "--test", test], tree, env)
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
