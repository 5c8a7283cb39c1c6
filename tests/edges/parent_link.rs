//! `ParentLink` and `ParentRef`: the answers of the queries, linked or not.

use mtsafe::{CowShared, LinkError, ParentLink, ParentRef};

#[test]
fn a_parent_token_reports_its_parents_handle_count() {
    let parent = CowShared::new(0u8);
    assert_eq!(ParentRef::from(&parent).ref_count(), 1);
    let more = (parent.clone(), parent.clone());
    assert_eq!(ParentRef::from(&parent).ref_count(), 3);
    drop(more);
    let mut parent = parent;
    let (_, token) = CowShared::get_writable_as_parent(&mut parent);
    assert_eq!(token.ref_count(), 1);
}

#[test]
fn the_link_queries_tell_linked_from_unlinked() {
    let (parent, other) = (CowShared::new(1u8), CowShared::new(2u8));
    let mut link = ParentLink::default();
    assert!(!link.is_linked() && !link.is_orphaned() && !link.is_linked_to(&parent));
    assert_eq!(link.parent_ref_count(), None);
    assert!(link.parent_is_writable(), "no parent: writable");
    link.link(&parent).unwrap();
    assert!(link.is_linked() && !link.is_orphaned());
    assert!(link.is_linked_to(&parent) && !link.is_linked_to(&other));
    assert_eq!(link.parent_ref_count(), Some(1));
    assert!(link.parent_is_writable());
    let shared = parent.clone();
    assert_eq!(link.parent_ref_count(), Some(2));
    assert!(!link.parent_is_writable());
    drop(shared);
    assert!(
        link.clone().parent_ref_count().is_none(),
        "a copy has no parent"
    );
    assert!(link.is_linked(), "cloning leaves the original linked");
    assert!(link.unlink());
    assert!(!link.is_linked());
    assert_eq!(link.link(&other), Ok(()));
}

#[test]
fn link_errors_say_which_refusal() {
    assert_ne!(LinkError::AlreadyLinked, LinkError::TooManyLinks);
    assert_eq!(
        LinkError::AlreadyLinked.to_string(),
        "the child already has a parent"
    );
    assert_eq!(
        LinkError::TooManyLinks.to_string(),
        "the parent has too many linked children"
    );
}
