//! Identifiers. Every object gets a UUIDv7: time-ordered (good index locality
//! on both backends, cursor pagination by id) and unguessable in its random part.

use uuid::Uuid;

/// A new time-ordered random identifier in its canonical hyphenated form.
pub fn new_id() -> String {
    Uuid::now_v7().hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_ordered() {
        let a = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id();
        assert_ne!(a, b);
        assert!(a < b, "UUIDv7 ids sort by creation time: {a} !< {b}");
        assert_eq!(a.len(), 36);
    }
}
