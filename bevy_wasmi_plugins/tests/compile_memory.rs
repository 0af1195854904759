//! Compiling a mod again and again (every hot reload does) holds no memory once the
//! module and its instances are gone: each compiled module has a wasmi engine of its
//! own, and wasmi's engine keeps every function it compiled until it is dropped. With
//! one engine for all mods, each compile of `bench_guest` kept about 235 KB for good
//! (5,000 compiles: 1.18 GB resident).
//!
//! A test binary of its own, with one test, so that no other test allocates beside it
//! while it reads the process's resident memory (Linux's `/proc/self/statm`).

#![allow(clippy::unwrap_used)] // Tests unwrap to fail loudly.
#![cfg(target_os = "linux")]

use bevy_wasmi_plugins::runtime::{Compilation, ModConfig, ModInstance, NoHost, Runtime};

const BENCH_GUEST: &[u8] = include_bytes!("mods/bench_guest.wasm");

/// The process's resident memory, in bytes.
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn compiling_a_mod_again_and_again_holds_no_memory() {
    for compilation in [Compilation::Deferred, Compilation::Lazy] {
        let runtime = Runtime::with_compilation(compilation);
        // Compiled, started (which translates what the start runs) and dropped, as a
        // hot reload does; a few rounds first so that the allocator has its pools.
        let round = || {
            let module = runtime.compile("bench_guest", BENCH_GUEST).unwrap();
            let mut instance = ModInstance::new(&module, &ModConfig::default()).unwrap();
            instance.run(u64::MAX / 4, &mut NoHost).unwrap();
        };
        for _ in 0..20 {
            round();
        }
        let before = resident();
        for _ in 0..200 {
            round();
        }
        let grown = resident().saturating_sub(before);
        // Kept for good, 200 compiles would be about 47 MB (and more for the code the
        // starts translated).
        assert!(
            grown < 8 << 20,
            "{compilation:?}: 200 compiles grew resident memory by {grown} bytes"
        );
    }
}
