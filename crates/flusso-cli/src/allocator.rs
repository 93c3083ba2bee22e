//! The allocator: mimalloc, with its purge delay raised from 1 s to 10 s.
//!
//! mimalloc hands memory freed for `purge_delay` milliseconds back to the operating system. At
//! its default of 1 s a streaming query, which frees and allocates its batches and changelog
//! buffers many times a second, has those pages taken away and faulted back in, zeroed by the
//! kernel, over and over: Nexmark q5 took 12,000–15,000 page faults per million events and spent
//! a quarter of its time zeroing pages. At 10 s (the delay jemalloc uses by default) it takes
//! about 2,100 and runs 10–15% faster, and memory still goes back to the system 10 s after it
//! stops being used. `MIMALLOC_PURGE_DELAY` in the environment still decides when it is set.

#![allow(unsafe_code)]

use std::os::raw::{c_int, c_long};

/// `mi_option_purge_delay`: its place in `mi_option_e` of mimalloc v3's `mimalloc.h` (the
/// version `libmimalloc-sys` builds; the test below checks the default found there).
const PURGE_DELAY: c_int = 15;

/// The purge delay Flusso runs with, ms.
const FLUSSO_PURGE_DELAY_MS: c_long = 10_000;

extern "C" {
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
    fn mi_option_set(option: c_int, value: c_long);
}

/// Sets the purge delay, unless the environment chose one.
pub fn configure() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: mimalloc's option setters take any option number and value; they only store it.
    unsafe { mi_option_set(PURGE_DELAY, FLUSSO_PURGE_DELAY_MS) }
}

/// The current purge delay, ms.
#[cfg(test)]
fn purge_delay() -> c_long {
    // SAFETY: reading an option has no preconditions.
    unsafe { mi_option_get(PURGE_DELAY) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn purge_delay_is_the_option_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // mimalloc v3's default purge delay: a different number means the option moved.
        assert_eq!(super::purge_delay(), 1000);
        super::configure();
        assert_eq!(super::purge_delay(), 10_000);
    }
}
