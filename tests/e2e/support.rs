//! Helpers shared by the feature modules.

use std::fmt::{Debug, Display};

/// Collects every mismatch of a table-driven test, so one run reports all of them (not only the first) before
/// the test fails in [`Mismatches::finish`].
#[derive(Default)]
#[must_use = "call `finish` to fail the test on mismatches"]
pub struct Mismatches(Vec<String>);

impl Mismatches {
    /// Records a mismatch when `got != expected`.
    pub fn check<G: PartialEq<E> + Debug, E: Debug>(&mut self, what: impl Display, got: G, expected: E) {
        if got != expected {
            self.0.push(format!("{what}\n    expected: {expected:?}\n         got: {got:?}"));
        }
    }

    /// Fails the test if anything did not match, listing every mismatch.
    pub fn finish(self) {
        assert!(self.0.is_empty(), "{} mismatch(es):\n{}", self.0.len(), self.0.join("\n"));
    }
}

/// `check!(m, got, expected)` or `check!(m, got, expected, "format", args..)`: `assert_eq!` that records the
/// mismatch in `m` (a [`Mismatches`]) and goes on. Both values are borrowed, as with `assert_eq!`.
macro_rules! check {
    ($m:expr, $got:expr, $expected:expr $(,)?) => {
        $m.check(format!("line {}: {}", line!(), stringify!($got)), &$got, &$expected)
    };
    ($m:expr, $got:expr, $expected:expr, $($fmt:tt)+) => {
        $m.check(format!("line {}: {}", line!(), format_args!($($fmt)+)), &$got, &$expected)
    };
}
pub(crate) use check;

/// Whether `path` (its query ignored) is an instance of the OpenAPI path template `template`: each `{name}`
/// segment matches one non-empty segment, every other segment itself.
pub fn fits_template(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let (mut pattern, mut segments) = (template.split('/'), path.split('/'));
    loop {
        match (pattern.next(), segments.next()) {
            (None, None) => return true,
            (Some(p), Some(s)) if p.starts_with('{') && !s.is_empty() => {}
            (Some(p), Some(s)) if p == s => {}
            _ => return false,
        }
    }
}

/// The kinds of security event the app declares (the `= "kind"` of each variant of its `model/event_kind.rs`).
pub fn event_kinds() -> Vec<String> {
    let source = std::fs::read_to_string(mfa_e2e::workspace_dir().join("components/api/src/model/event_kind.rs"))
        .expect("the app's event kinds");
    source.lines().filter_map(|line| Some(line.trim().split_once(" = \"")?.1.strip_suffix("\",")?.to_owned())).collect()
}
