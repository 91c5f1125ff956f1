//! `docs/security-events.md` describes every kind of security event the app records (`model/event_kind.rs`), each
//! in one table row `` | `kind` | written when | detail | `` with both cells filled, and no kind the app no longer
//! has.

use std::collections::BTreeMap;

use crate::support::event_kinds;

/// The specification's rows: kind -> (written when, detail).
fn documented() -> BTreeMap<String, (String, String)> {
    let mut rows = BTreeMap::new();
    for line in super::read("docs/security-events.md").lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(cells.len(), 3, "three cells: {line}");
        let kind = cells[0].trim_matches('`').to_owned();
        assert!(rows.insert(kind.clone(), (cells[1].to_owned(), cells[2].to_owned())).is_none(), "{kind} twice");
    }
    rows
}

#[test]
fn the_security_event_specification_describes_every_kind_once() {
    let (declared, documented) = (event_kinds(), documented());
    assert!(declared.len() > 60, "the kinds were read: {declared:?}");
    let missing: Vec<&String> = declared.iter().filter(|kind| !documented.contains_key(*kind)).collect();
    let stale: Vec<&String> = documented.keys().filter(|kind| !declared.contains(kind)).collect();
    assert!(missing.is_empty() && stale.is_empty(), "undescribed: {missing:?}; no longer recorded: {stale:?}");
    for (kind, (when, detail)) in &documented {
        assert!(!when.is_empty() && !detail.is_empty(), "{kind}: say when it is written and what its detail holds");
    }
}
