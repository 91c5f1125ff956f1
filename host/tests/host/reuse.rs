//! Instance reuse (`--max-instance-reuse-count`): off by default (every request in a fresh instance, as Spin serves
//! WASIp2 components); when on, an instance that answered cleanly serves the next requests of its component up to
//! the count, and one that trapped, or was kept longer than `--idle-instance-timeout-ms`, is never used again.
//! The fixture's `/count` shows how many requests its instance has served.

use std::time::Duration;

use super::{Host, manifest, scratch};

fn counts(host: &Host, requests: usize) -> Vec<String> {
    (0..requests).map(|_| host.get("/count", &[]).1).collect()
}

#[test]
fn every_request_gets_a_fresh_instance_by_default() {
    let dir = scratch("reuse-default");
    let host = Host::start(&manifest(&dir, "/...", "", ""), &[], &[]);
    assert_eq!(counts(&host, 3), ["1", "1", "1"]);
}

#[test]
fn a_clean_instance_serves_up_to_the_count_and_a_trapped_one_never_again() {
    let dir = scratch("reuse-on");
    let host = Host::start(&manifest(&dir, "/...", "", ""), &[], &["--max-instance-reuse-count", "3"]);
    assert_eq!(counts(&host, 7), ["1", "2", "3", "1", "2", "3", "1"]);
    // The instance that served the 7th request traps on the 8th; the next request gets a fresh one.
    assert_eq!(host.get("/trap", &[]).0, 500);
    assert_eq!(counts(&host, 2), ["1", "2"]);
}

#[test]
fn an_instance_idle_past_its_timeout_is_dropped() {
    let dir = scratch("reuse-idle");
    let args = ["--max-instance-reuse-count", "100", "--idle-instance-timeout-ms", "200"];
    let host = Host::start(&manifest(&dir, "/...", "", ""), &[], &args);
    assert_eq!(counts(&host, 2), ["1", "2"]);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(counts(&host, 2), ["1", "2"]);
}

#[test]
fn an_instance_whose_memory_grew_large_is_not_kept() {
    let dir = scratch("reuse-memory");
    let host = Host::start(&manifest(&dir, "/...", "", ""), &[], &["--max-instance-reuse-count", "100"]);
    assert_eq!(counts(&host, 2), ["1", "2"]);
    // A little more memory: still kept (`/count` counts its own requests).
    assert_eq!(host.get("/alloc?mb=1", &[]).0, 200);
    assert_eq!(counts(&host, 1), ["3"]);
    // Past 16 MiB (a password hash takes 19): dropped, its memory given back; the next request starts afresh.
    assert_eq!(host.get("/alloc?mb=24", &[]).0, 200);
    assert_eq!(counts(&host, 2), ["1", "2"]);
}
