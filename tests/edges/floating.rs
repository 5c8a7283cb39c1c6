//! Floating references that float again: each floating handle settles only its own
//! claim, told apart by the generation of the float.

use mtsafe::Object;

fn state(o: &Object<impl Sized>) -> (bool, usize) {
    (Object::is_floating(o), Object::ref_count(o))
}

#[test]
fn an_adopted_floating_handle_does_not_settle_a_later_float() {
    let first = Object::with_name("x", ());
    let adopted = Object::ref_sink(&first); // adopts the first float
    assert_eq!(state(&adopted), (false, 1));
    let again = Object::force_floating(adopted.clone()); // a second float
    assert_eq!(state(&again), (true, 2));
    drop(first); // settles the first float's adoption only
    assert!(
        Object::is_floating(&again),
        "the second float is not the first's"
    );
    assert_eq!(state(&again), (true, 2));
    let sunk = again.sink();
    assert_eq!(state(&sunk), (false, 2));
    drop(adopted);
    assert_eq!(state(&sunk), (false, 1));
}

#[test]
fn floats_of_many_generations_each_settle_once() {
    let object = Object::with_name("x", ()).sink();
    for _ in 0..5 {
        let f = Object::force_floating(object.clone());
        assert_eq!(state(&f), (true, 2));
        let adopted = Object::ref_sink(&f);
        assert_eq!(state(&adopted), (false, 2));
        let g = Object::force_floating(adopted);
        assert_eq!(state(&g), (true, 2));
        drop(f);
        assert!(Object::is_floating(&g));
        drop(g);
        assert_eq!(state(&object), (false, 1));
    }
}
