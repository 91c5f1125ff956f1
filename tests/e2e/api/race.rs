//! Races: requests released together by a barrier, so that they really overlap, and the exact count of each
//! outcome. Every race test fires at least [`AT_ONCE`] requests: with two, a missing compare-and-set would often
//! pass unseen whenever the two happened to run one after the other.

use std::sync::{Arc, Barrier};

use super::app::Answer;

/// How many requests a race releases at once, at least.
pub const AT_ONCE: usize = 20;

/// One request of a race.
pub type Call<T = Answer> = Box<dyn FnOnce() -> T + Send>;

/// Runs `calls` at once, released together by a barrier; their outcomes, in order.
pub fn all_at_once<T: Send + 'static>(calls: Vec<Call<T>>) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(calls.len()));
    let threads: Vec<_> = calls
        .into_iter()
        .map(|call| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                call()
            })
        })
        .collect();
    threads.into_iter().map(|thread| thread.join().unwrap()).collect()
}

/// How many of `answers` have `status`.
pub fn count(answers: &[Answer], status: u16) -> usize {
    answers.iter().filter(|answer| answer.status == status).count()
}

/// The statuses of `answers`, for messages.
pub fn statuses(answers: &[Answer]) -> Vec<u16> {
    answers.iter().map(|answer| answer.status).collect()
}
