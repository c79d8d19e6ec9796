//! `app::retain_freed_memory`: memory one invocation frees is reused by the next without the
//! kernel handing out fresh pages. Its own test binary: the allocator setting is process-wide.
//! glibc only (what Lambda's `provided.al2023` and this project's builds use); elsewhere the call
//! is a no-op and there is nothing to test.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use hms_shared::app;

/// Minor page faults of this process so far.
fn minor_faults() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes into the struct we own; RUSAGE_SELF is always valid.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) }, 0);
    // SAFETY: initialised (zeroed, then written by getrusage).
    unsafe { usage.assume_init() }.ru_minflt
}

/// Faults taken by allocating and writing 8 MiB (a large session's worth), then freeing it.
fn faults_of_one_round() -> i64 {
    let before = minor_faults();
    let block = vec![1u8; 8 << 20];
    std::hint::black_box(&block);
    drop(block);
    minor_faults() - before
}

#[test]
fn a_freed_block_is_reused_without_fresh_pages() {
    app::retain_freed_memory();
    let first = faults_of_one_round();
    assert!(first >= 1_000, "the first round takes at least 1,000 faults for its 2,048 fresh pages: {first}");
    // glibc's defaults hand the block back (to the kernel, then from the heap's top) and take
    // fresh pages again in the second round; retained, it is already there.
    let second = faults_of_one_round();
    assert!(second * 8 < first, "second round took {second} faults, the first {first}");
}
