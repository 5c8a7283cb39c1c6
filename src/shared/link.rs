//! [`ParentLink`]: a child tied to the atomic refcount of the one [`CowShared`] parent
//! that holds it, as `GstStructure.parent_refcount` ties a structure to its caps and a
//! `GstMemory` knows the buffer it sits in.
//!
//! # The rule
//!
//! GStreamer's mini objects keep a list of parents: a child is writable in place when
//! its own count is one and it has no parent, or one parent that is writable. A link
//! names one parent, so it must never name the wrong one: a child whose linked parent
//! let go of it, or went, while another holder kept it cannot tell who holds it now
//! (a copy of the parent, say, which shares the child without having linked it). Such a
//! link reads as *not* writable until a holder that has the child alone unlinks it:
//!
//! | `parent` word          | meaning                                                    | `parent_is_writable` |
//! |------------------------|------------------------------------------------------------|----------------------|
//! | null                   | no parent                                                  | yes                  |
//! | `P`                    | linked to `P`, which holds the child                       | while `P` has one handle |
//! | `P`, `P` gone          | `P` went while the child was held elsewhere (its handles dropped, or its value moved out) | no |
//! | `P \| ORPHANED`        | `P` let go of the child while another holder kept it ([`orphan`](ParentLink::orphan)) | no |
//!
//! Only [`unlink`](ParentLink::unlink) (through `&mut`, so by a holder that has the
//! child alone) clears the word; [`link`](ParentLink::link) sets it only from null.
//!
//! # Why a link keeps the parent's header
//!
//! A child reads its parent's count whenever it is asked whether it is writable, from
//! any thread, while the parent may be cloned, dropped, or have its value moved out
//! (`try_unwrap`). GStreamer makes this safe by convention: the parent removes itself
//! from its children before it goes. Here it is safe by construction: a link adds one
//! to the parent's *link count* (the second word of its header, see
//! [`header`](super::header)), and the parent's allocation is freed only when both
//! its strong count and its link count are zero. The link keeps the header, not the
//! value, alive: a parent whose handles are all gone reads as strong count zero. An
//! orphaned link keeps its count too (readers may still be reading through it); it is
//! released by `unlink` like any other. The last count frees the allocation with the
//! function kept in its header, as `GstMiniObject` keeps its `free`: a link needs to
//! know nothing of the parent's type.
//!
//! A link is set through `&self` (two threads racing to link one child: exactly one
//! wins) and removed only through `&mut self`, so no reader can be between loading the
//! parent pointer and reading through it when the link count it relies on is dropped.
//!
//! # Orderings
//!
//! - `link` increments the parent's link count (`Relaxed`, like a clone: the caller's
//!   handle keeps the parent alive) *before* it publishes the pointer with a `Release`
//!   compare-exchange, so anyone who sees the pointer sees a header that is kept
//!   allocated for them.
//! - Readers load the pointer with `Acquire` (pairs with that `Release`) and the
//!   parent's strong count with `Acquire` (a parent count of one must make the other parent
//!   holders' accesses happen before the writes the answer allows, as in
//!   [`CowShared::is_writable`]).
//! - `orphan` sets its bit with `Relaxed`: the parent does it before it releases its
//!   handle to the child, and a reader that is told the child's own count is one has
//!   loaded that count with `Acquire`, which synchronizes with the parent's `Release`
//!   drop of its handle. A reader must therefore load the child's own count *before*
//!   the link (as [`Memory::is_writable`](crate::buffer::Memory::is_writable) does).
//!   The same order makes a parent that went read as gone: its strong count reached
//!   zero before it dropped its handle to the child.
//! - Unlinking decrements with `AcqRel`: `Release` so this link's reads of the header
//!   happen before its free; `Acquire` in case this was the last count and we free it.

use core::fmt;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use super::header::Header;
use super::{CowShared, UniqueShared};
use crate::sync::atomic::{AtomicPtr, Ordering};

/// A borrowed [`CowShared`] that children can be linked to.
///
/// Made from `&CowShared<P>` (`From`), or by [`CowShared::get_writable_as_parent`]
/// together with a `&mut P`, for a parent that links children while it is being
/// written. The borrow keeps the parent alive for as long as the token exists.
#[derive(Clone, Copy)]
pub struct ParentRef<'a> {
    header: NonNull<Header>,
    _parent: PhantomData<&'a Header>,
}

impl fmt::Debug for ParentRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParentRef")
            .field("parent", &self.header)
            .finish()
    }
}

impl<'a, P> From<&'a CowShared<P>> for ParentRef<'a> {
    fn from(parent: &'a CowShared<P>) -> Self {
        // SAFETY: the borrowed handle keeps the parent's header for `'a`.
        unsafe { Self::of(parent.alloc().header_ptr()) }
    }
}

impl ParentRef<'_> {
    /// A token for the parent whose header is `header`.
    ///
    /// # Safety
    /// A strong handle to the parent stays borrowed for the token's lifetime.
    #[inline(always)]
    pub(super) unsafe fn of(header: NonNull<Header>) -> Self {
        Self {
            header,
            _parent: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the token borrows a live handle to the parent for its lifetime.
        unsafe { self.header.as_ref() }
    }

    /// The parent's handle count, as [`CowShared::ref_count`].
    #[must_use]
    pub fn ref_count(&self) -> usize {
        self.header().strong_count()
    }
}

impl<P: Clone> CowShared<P> {
    /// [`get_writable`](CowShared::get_writable), together with a token that links
    /// children to this (now unique) value while its `&mut P` is in use.
    ///
    /// ```
    /// use mtsafe::{CowShared, ParentLink};
    ///
    /// #[derive(Clone, Default)]
    /// struct Caps { structures: Vec<CowShared<Structure>> }
    /// #[derive(Clone, Default)]
    /// struct Structure { link: ParentLink, name: String }
    ///
    /// let mut caps = CowShared::new(Caps::default());
    /// let s = CowShared::new(Structure { name: "audio/x-raw".into(), ..Default::default() });
    /// let (writable, parent) = CowShared::get_writable_as_parent(&mut caps);
    /// s.link.link(parent).unwrap();
    /// writable.structures.push(s);
    ///
    /// let child = &caps.structures[0];
    /// assert!(child.link.parent_is_writable());
    /// let other = caps.clone(); // the parent is shared now
    /// assert!(!child.link.parent_is_writable());
    /// drop(other); // evaluated live: writable again
    /// assert!(child.link.parent_is_writable());
    /// ```
    pub fn get_writable_as_parent(this: &mut Self) -> (&mut P, ParentRef<'_>) {
        UniqueShared::as_parent(CowShared::make_unique(this))
    }
}

/// Why a [`ParentLink::link`] was refused. Either way the child is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkError {
    /// The child already has a parent (GStreamer's "has a parent refcount already"
    /// critical), or a link to one that went or orphaned it; unlink it first.
    AlreadyLinked,
    /// The parent has as many linked children as its link count can hold
    /// (`isize::MAX`).
    TooManyLinks,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AlreadyLinked => "the child already has a parent",
            Self::TooManyLinks => "the parent has too many linked children",
        })
    }
}

impl std::error::Error for LinkError {}

/// The link from a child to the one [`CowShared`] parent that holds it:
/// `GstStructure.parent_refcount` and `GstMiniObject`'s parent, as a field.
///
/// Put a `ParentLink` in the child type. The parent links each child it takes in
/// ([`link`](Self::link)) and, when it lets go of it, unlinks it if it held it alone
/// ([`unlink`](Self::unlink)) or orphans it if someone else still holds it
/// ([`orphan`](Self::orphan)). In between the child can tell, from its own side,
/// whether writing it in place would be visible to anyone else: it is writable in
/// place when its own count is one *and* its parent is writable, evaluated live
/// ([`parent_is_writable`](Self::parent_is_writable)).
///
/// ```
/// use mtsafe::{CowShared, LinkError, ParentLink};
///
/// let parent = CowShared::new("caps");
/// let other = CowShared::new("other caps");
/// let link = ParentLink::new();
///
/// link.link(&parent).unwrap();
/// assert!(link.is_linked_to(&parent));
/// // A second parent is refused and the link is unchanged.
/// assert_eq!(link.link(&other), Err(LinkError::AlreadyLinked));
/// assert!(link.is_linked_to(&parent));
///
/// assert!(link.parent_is_writable());
/// let shared = parent.clone();
/// assert!(!link.parent_is_writable());
/// drop(shared);
/// assert!(link.parent_is_writable());
///
/// // The parent lets go of the child while someone else holds it: whoever that is,
/// // the link cannot vouch for them.
/// assert!(link.orphan(&parent));
/// assert!(!link.parent_is_writable());
/// ```
///
/// What it guarantees:
/// - At most one parent. [`link`](Self::link) takes `&self` and is atomic: of two
///   threads linking one child, exactly one wins, the other gets
///   [`LinkError::AlreadyLinked`].
/// - Never a wrong yes: [`parent_is_writable`](Self::parent_is_writable) is `true` only
///   with no parent, or with a linked parent that has one handle and has not let go
///   of the child. A parent that went (dropped, or its value moved out) or orphaned
///   the child reads as not writable: someone else holds the child now, and the link
///   cannot tell who.
/// - Never dangling: a link keeps its parent's count allocated (not its value), so a
///   parent dropped or unwrapped while children still link to it is never read after
///   it is freed.
/// - Cloning a child's link gives an unlinked one: a copy has no parent, as
///   `gst_structure_copy` gives.
///
/// What it leaves to the parent type: unlinking requires `&mut`, so a parent unlinks a
/// child it holds alone when the child leaves it, and [`orphan`](Self::orphan)s one
/// that another holder keeps (after a shallow copy of the parent, say). A parent that
/// goes with such a child reads as gone, which needs nothing from it. A holder that
/// later has the child alone unlinks it and may link it again (the
/// [`buffer`](crate::buffer) module, a parent type that follows these rules, does so
/// when it writes a block). What a link cannot follow is the parent's value moved to
/// another allocation through `&mut` (`mem::swap`, `mem::replace`, assigning over it):
/// the link still names the allocation, so a parent type whose values are moved that
/// way must unlink or orphan its children first.
#[doc(alias = "gst_mini_object_add_parent")]
#[doc(alias = "parent_refcount")]
pub struct ParentLink {
    /// The parent's header, or null, with the [`ORPHANED`] bit set once the parent let
    /// go of the child. Set by `link` (compare-exchange from null), marked by `orphan`
    /// (compare-exchange from the clean pointer), cleared only through `&mut self`.
    parent: AtomicPtr<Header>,
}

/// The low bit of [`ParentLink`]'s `parent` word: the linked parent let go of the
/// child. Free in a header pointer, which is aligned to its counts' words.
const ORPHANED: usize = 1;
const _: () = assert!(core::mem::align_of::<Header>() > ORPHANED);

// `ParentLink` holds only atomics and is Send + Sync by construction; pinned here so a
// change of fields cannot silently remove it.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<ParentLink>();
};

impl ParentLink {
    /// A link with no parent.
    #[must_use]
    pub fn new() -> Self {
        Self {
            parent: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Links to `parent`, unless the child has a link already (to a parent, possibly
    /// gone or orphaning: only [`unlink`](Self::unlink) clears it).
    ///
    /// On `Err` nothing changed: the child keeps its link (or lack of one) and the
    /// parent's count is as it was.
    pub fn link<'a>(&self, parent: impl Into<ParentRef<'a>>) -> Result<(), LinkError> {
        let parent = parent.into();
        // Relaxed: an early out only; the compare-exchange below decides.
        if !self.parent.load(Ordering::Relaxed).is_null() {
            return Err(LinkError::AlreadyLinked);
        }
        // Counted before anyone can see the pointer, so the header stays allocated
        // for every reader of it.
        if !parent.header().try_add_link() {
            return Err(LinkError::TooManyLinks);
        }
        // loom-mutant: link-store-not-exchange
        match self.parent.compare_exchange(
            ptr::null_mut(),
            parent.header.as_ptr(),
            // Release: publishes the pointer after the link count that keeps it valid;
            // readers pair with Acquire. Relaxed on failure: we only undo our own work.
            Ordering::Release,
            Ordering::Relaxed,
        ) {
            Ok(_) => Ok(()),
            Err(_) => {
                // loom-mutant: link-lost-race-keeps-its-count
                parent.header().undo_link();
                Err(LinkError::AlreadyLinked)
            }
        }
    }

    /// `parent` lets go of the child while another holder keeps it
    /// (`gst_mini_object_remove_parent` for a child still in use): from now on the
    /// child reads as not writable through its link, whoever holds it, until a holder
    /// that has it alone [`unlink`](Self::unlink)s it. Returns whether the child was
    /// linked to `parent` (and not orphaned already); otherwise nothing changes.
    ///
    /// Call it before releasing the parent's handle to the child: a reader that sees
    /// the child's own count drop to one then sees the mark too.
    ///
    /// Takes `&self`: the link keeps its count on the parent's header (a reader may be
    /// reading through it right now), so nothing is freed here.
    pub fn orphan<'a>(&self, parent: impl Into<ParentRef<'a>>) -> bool {
        let header = parent.into().header.as_ptr();
        self.parent
            .compare_exchange(
                header,
                // loom-mutant: parent-link-orphan-leaves-no-mark
                header.map_addr(|addr| addr | ORPHANED),
                // Relaxed: the mark is published by the parent's Release drop of its
                // handle to the child, which a reader's Acquire load of the child's
                // count pairs with (see the module's orderings). Relaxed on failure:
                // nothing changes.
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Removes the link, if any (orphaned or not); returns whether there was one.
    /// Unlinking an unlinked child is a no-op.
    ///
    /// Takes `&mut self`: no reader can be looking at the parent while its count is
    /// released, which may free a parent whose handles are already gone.
    pub fn unlink(&mut self) -> bool {
        // Relaxed: `&mut self` excludes every concurrent access to these fields.
        let word = self.parent.swap(ptr::null_mut(), Ordering::Relaxed);
        let Some(header) = NonNull::new(word.map_addr(|addr| addr & !ORPHANED)) else {
            return false;
        };
        // SAFETY: the word held our link count on this header, which we release here
        // (if it was the last count, the header's own function frees the parent's
        // allocation); the word is cleared, so nothing reads through it afterwards.
        unsafe { Header::release_link(header) };
        true
    }

    /// Whether the child has a link: to a parent, which may since have gone (see
    /// [`parent_ref_count`](Self::parent_ref_count)) or orphaned it (see
    /// [`is_orphaned`](Self::is_orphaned)).
    pub fn is_linked(&self) -> bool {
        // Relaxed: a yes/no about the pointer; nothing is read through it.
        !self.parent.load(Ordering::Relaxed).is_null()
    }

    /// Whether `parent` is the linked parent and has not orphaned the child.
    pub fn is_linked_to<'a>(&self, parent: impl Into<ParentRef<'a>>) -> bool {
        // Relaxed: compares addresses only (an orphaned word carries its mark, so it
        // never matches). No false match: a linked header stays allocated, so its
        // address cannot be reused by another parent meanwhile.
        self.parent.load(Ordering::Relaxed) == parent.into().header.as_ptr()
    }

    /// Whether the linked parent let go of the child ([`orphan`](Self::orphan)).
    pub fn is_orphaned(&self) -> bool {
        // Relaxed: a yes/no about the word; nothing is read through it.
        self.parent.load(Ordering::Relaxed).addr() & ORPHANED != 0
    }

    /// The linked parent's handle count: `None` with no parent, `Some(0)` when the
    /// linked parent's handles are all gone. An orphaning parent is still counted.
    pub fn parent_ref_count(&self) -> Option<usize> {
        self.parent().map(|(header, _)| header.strong_count())
    }

    /// `true` when there is no parent, or the linked parent is writable (one handle)
    /// and still holds the child: the parent half of GStreamer's writability rule for
    /// a child. A child is writable in place when this holds and its own count is one;
    /// read the child's own count first (see the module's orderings).
    ///
    /// `false` while the parent is shared, and for a parent that went or orphaned the
    /// child: someone else holds it, and the link cannot tell who.
    ///
    /// Evaluated live: `false` while the parent is shared, `true` again as soon as the
    /// other handles to the parent are dropped.
    pub fn parent_is_writable(&self) -> bool {
        // The count for a write (`Acquire`): a parent count of one must make the other
        // parent holders' accesses happen before any write this answer allows.
        // loom-mutant: parent-check-relaxed
        match self
            .parent()
            .map(|(h, orphaned)| (h.strong_count_for_write(), orphaned))
        {
            None => true,
            // loom-mutant: parent-link-orphaned-link-reads-parent-count
            Some((_, true)) => false,
            // loom-mutant: parent-check-ignores-parent
            Some((strong, false)) => strong == 1,
        }
    }

    /// The linked parent's header, and whether it orphaned the child; `None` without
    /// a parent.
    fn parent(&self) -> Option<(&Header, bool)> {
        // Acquire: pairs with the Release in `link`, so the header behind the pointer
        // is seen initialized and counted.
        let word = self.parent.load(Ordering::Acquire);
        let header = NonNull::new(word.map_addr(|addr| addr & !ORPHANED))?;
        // SAFETY: our link count keeps the header allocated, and it cannot be released
        // while we are borrowed shared (`unlink` needs `&mut self`).
        Some((unsafe { header.as_ref() }, word.addr() & ORPHANED != 0))
    }
}

impl Default for ParentLink {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for ParentLink {
    /// A copy of a child has no parent.
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl Drop for ParentLink {
    fn drop(&mut self) {
        self.unlink();
    }
}

impl fmt::Debug for ParentLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self
            .parent()
            .map(|(h, orphaned)| (h.strong_count(), orphaned))
        {
            None => f.write_str("ParentLink(none)"),
            Some((count, false)) => write!(f, "ParentLink(parent with {count} handles)"),
            Some((count, true)) => {
                write!(f, "ParentLink(orphaned by a parent with {count} handles)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::shared::header::MAX_LINKS;

    fn link_count<P>(parent: &CowShared<P>) -> usize {
        parent.header().counts().1
    }

    #[test]
    fn a_refused_link_leaves_both_counts_as_they_were() {
        let first = CowShared::new(1u8);
        let second = CowShared::new(2u8);
        let link = ParentLink::new();
        assert_eq!(link_count(&first), 1, "the strong handles' own link");
        link.link(&first).unwrap();
        assert_eq!(link_count(&first), 2);
        assert_eq!(link.link(&second), Err(LinkError::AlreadyLinked));
        assert_eq!(link.link(&first), Err(LinkError::AlreadyLinked));
        assert_eq!((link_count(&first), link_count(&second)), (2, 1));
        assert!(link.is_linked_to(&first));
        drop(link);
        assert_eq!(link_count(&first), 1, "dropping a child unlinks it");
    }

    #[test]
    fn the_link_count_is_bounded_and_refusal_changes_nothing() {
        let parent = CowShared::new(0u8);
        let force = |links| parent.header().force_counts(None, Some(links));
        // As if MAX_LINKS children were linked already.
        force(MAX_LINKS + 1);
        let one_more = ParentLink::new();
        assert_eq!(one_more.link(&parent), Err(LinkError::TooManyLinks));
        assert!(!one_more.is_linked());
        assert_eq!(link_count(&parent), MAX_LINKS + 1);
        force(MAX_LINKS);
        one_more.link(&parent).unwrap();
        drop(one_more);
        force(1);
    }

    #[test]
    fn an_orphaned_link_keeps_its_count_until_unlinked_and_frees_the_header_once() {
        let parent = CowShared::new(String::from("parent"));
        let other = CowShared::new(String::from("other"));
        let mut link = ParentLink::new();
        link.link(&parent).unwrap();
        assert!(!link.orphan(&other), "not linked to it: nothing changes");
        assert!(!link.is_orphaned() && link.is_linked_to(&parent));
        assert!(link.orphan(&parent));
        assert!(!link.orphan(&parent), "orphaned once");
        assert!(link.is_orphaned() && link.is_linked() && !link.is_linked_to(&parent));
        assert!(!link.parent_is_writable(), "even with one parent handle");
        assert_eq!(link.parent_ref_count(), Some(1));
        assert_eq!(link.link(&other), Err(LinkError::AlreadyLinked));
        assert_eq!(link_count(&parent), 2, "still counted");
        assert_eq!(link_count(&other), 1);
        drop(parent); // the header stays for the link; Miri's leak check sees the rest
        assert!(link.unlink(), "the last count frees the header");
        assert!(!link.is_linked() && !link.is_orphaned());
        assert!(link.parent_is_writable(), "no parent");
        link.link(&other).unwrap();
        assert!(link.parent_is_writable());
    }

    #[test]
    fn a_linked_child_keeps_the_header_not_the_value() {
        let parent = CowShared::new(String::from("parent"));
        let mut link = ParentLink::new();
        link.link(&parent).unwrap();
        drop(parent); // the String is dropped here; Miri's leak check sees the rest
        assert_eq!(link.parent_ref_count(), Some(0));
        assert!(
            !link.parent_is_writable(),
            "a parent that went cannot vouch for whoever holds the child now"
        );
        assert!(link.unlink(), "the last link frees the header");
        assert!(!link.unlink(), "unlinking an unlinked child is a no-op");
    }
}
