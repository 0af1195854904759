//! Every failure and error path of the instructions and host calls, a million times
//! each in one instance: failing `memory.grow`/`table.grow` and host calls return their
//! error code, traps (out-of-bounds loads, stores, `memory.fill`/`copy`, `call_indirect`
//! mismatches, division, `unreachable`) are caught and the instance is called again,
//! and suspensions on stdin are resumed. None may grow the host's native stack (wasmi's
//! tail-call dispatch once nested it per failing `memory.grow`); this runs on the
//! dispatch each target ships: natively tail calls, under Node (`scripts/web-test.sh`)
//! the portable loop.

#![allow(clippy::unwrap_used)] // Tests unwrap to fail loudly.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use bevy_wasmi_plugins::runtime::{Guest, GuestStatus, Limits, ModConfig, Runtime, TrapCode};

const MILLION: u32 = 1_000_000;

/// Runs `wat`'s `_start`, which loops `iterations` times over an instruction that fails
/// without trapping, and then writes the failures it counted to stdout as 4 bytes.
fn failures_counted(name: &str, wat: &str) -> u32 {
    let runtime = Runtime::new();
    let module = runtime
        .compile(name, &wat::parse_str(wat).expect("valid WAT"))
        .expect("compiles");
    let limits = Limits::default().with_max_memory(1 << 20);
    let config = ModConfig::default().with_limits(limits);
    let mut guest = Guest::new(&module, &config).expect("instantiates");
    let status = loop {
        match guest
            .resume(50_000_000)
            .expect("the loop runs without a fault")
        {
            GuestStatus::OutOfFuel => continue,
            status => break status,
        }
    };
    assert_eq!(status, GuestStatus::Exited(0));
    let mut out = Vec::new();
    guest.take_stdout(&mut out);
    u32::from_le_bytes(out[..4].try_into().unwrap())
}

/// A module whose `_start` runs `fail` (an expression giving -1 when it fails) a million
/// times, counting the failures at address 0, and writes the count.
fn failing_loop(setup: &str, fail: &str) -> String {
    format!(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
            {setup}
            (func (export "_start") (local $i i32)
                (block $done (loop $l
                    (if (i32.eq ({fail}) (i32.const -1))
                        (then (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get $i) (i32.const 1000000)))))
                (i32.store (i32.const 8) (i32.const 0))
                (i32.store (i32.const 12) (i32.const 4))
                (drop (call $w (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))))"#
    )
}

#[test]
fn a_million_failing_memory_grows_each_return_minus_one() {
    // Refused by the module's own maximum, by the host's memory cap (1 MiB = 16 pages),
    // and past the 4 GiB address space: `-1` each time, as WebAssembly says, and the
    // host's stack does not grow with them (wasmi issue: a failure path that is not a
    // sibling call nests the native stack once per failure).
    for (name, memory, delta) in [
        ("at-its-maximum", "(memory (export \"memory\") 1 1)", 100),
        ("at-the-cap", "(memory (export \"memory\") 16)", 1),
        ("past-4-gib", "(memory (export \"memory\") 1)", 0x10000),
    ] {
        let wat = failing_loop(memory, &format!("memory.grow (i32.const {delta})"));
        assert_eq!(failures_counted(name, &wat), 1_000_000, "{name}");
    }
}

#[test]
fn a_million_failing_table_grows_each_return_minus_one() {
    let wat = failing_loop(
        "(memory (export \"memory\") 1) (table 1 1 funcref)",
        "table.grow (ref.null func) (i32.const 5)",
    );
    assert_eq!(failures_counted("table-at-its-maximum", &wat), 1_000_000);
    let wat = failing_loop(
        "(memory (export \"memory\") 1) (table 1 funcref)",
        "table.grow (ref.null func) (i32.const 200000)",
    );
    assert_eq!(failures_counted("table-at-the-cap", &wat), 1_000_000);
}

#[test]
fn a_million_failing_host_calls_each_return_their_errno() {
    // The error paths of host functions: an iovec array out of bounds (EFAULT = 21) and
    // `poll_oneoff` with no subscriptions (EINVAL = 28), a million times in one run.
    let wat = failing_loop(
        "(memory (export \"memory\") 1)",
        "i32.sub (call $w (i32.const 1) (i32.const -8) (i32.const 1) (i32.const 16)) (i32.const 22)",
    );
    assert_eq!(failures_counted("bad-iovecs", &wat), 1_000_000);
    let wat = failing_loop(
        r#"(import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
           (memory (export "memory") 1)"#,
        "i32.sub (call $poll (i32.const 100) (i32.const 200) (i32.const 0) (i32.const 300)) (i32.const 29)",
    );
    assert_eq!(failures_counted("empty-poll", &wat), 1_000_000);
}

/// Traps of every kind, each the only thing its export does, and one export that works.
const TRAPS: &str = r#"(module
    (memory 1 1)
    (table 2 funcref)
    (type $to_i32 (func (param i32) (result i32)))
    (func $nothing)
    (elem (i32.const 0) $nothing)
    (func (export "load") (result i32) (i32.load (i32.const 65534)))
    (func (export "store") (i64.store (i32.const 65530) (i64.const 1)))
    (func (export "fill") (memory.fill (i32.const 65000) (i32.const 7) (i32.const 1000)))
    (func (export "copy") (memory.copy (i32.const 0) (i32.const 65000) (i32.const 1000)))
    (func (export "indirect_mismatch") (result i32)
        (call_indirect (type $to_i32) (i32.const 1) (i32.const 0)))
    (func (export "indirect_null") (result i32)
        (call_indirect (type $to_i32) (i32.const 1) (i32.const 1)))
    (func (export "indirect_past_the_table") (result i32)
        (call_indirect (type $to_i32) (i32.const 1) (i32.const 9)))
    (func (export "div_by_zero") (result i32) (i32.div_s (i32.const 1) (i32.const 0)))
    (func (export "div_overflow") (result i32)
        (i32.div_s (i32.const -2147483648) (i32.const -1)))
    (func (export "unreachable") unreachable)
    (func (export "works") (result i32) (i32.const 42)))"#;

#[test]
fn a_million_traps_of_each_kind_are_caught_and_the_instance_answers_after() {
    // The runtime's engine, so the dispatch and fuel metering are the shipped ones.
    let runtime = Runtime::new();
    let engine = &runtime.new_engine();
    let module = wasmi::Module::new(engine, wat::parse_str(TRAPS).unwrap()).unwrap();
    let mut store = wasmi::Store::new(engine, ());
    store.set_fuel(u64::MAX / 2).unwrap();
    let instance = wasmi::Linker::new(engine)
        .instantiate_and_start(&mut store, &module)
        .unwrap();
    let works = instance.get_typed_func::<(), i32>(&store, "works").unwrap();
    for (export, expected) in [
        ("load", TrapCode::MemoryOutOfBounds),
        ("store", TrapCode::MemoryOutOfBounds),
        ("fill", TrapCode::MemoryOutOfBounds),
        ("copy", TrapCode::MemoryOutOfBounds),
        ("indirect_mismatch", TrapCode::BadSignature),
        ("indirect_null", TrapCode::IndirectCallToNull),
        ("indirect_past_the_table", TrapCode::TableOutOfBounds),
        ("div_by_zero", TrapCode::IntegerDivisionByZero),
        ("div_overflow", TrapCode::IntegerOverflow),
        ("unreachable", TrapCode::UnreachableCodeReached),
    ] {
        let func = instance.get_func(&store, export).unwrap();
        let mut results = vec![wasmi::Val::I32(0); func.ty(&store).results().len()];
        let mut caught = 0u32;
        for _ in 0..MILLION {
            let error = func.call(&mut store, &[], &mut results).unwrap_err();
            if error.as_trap_code() == Some(expected) {
                caught += 1;
            }
        }
        assert_eq!(caught, MILLION, "{export}");
        assert_eq!(works.call(&mut store, ()).unwrap(), 42, "after {export}");
    }
}

#[test]
fn a_million_suspensions_on_an_empty_stdin_each_resume_where_they_left() {
    // Reads stdin one byte at a time and adds the bytes up: every read finds stdin
    // empty, suspends the guest, and resumes it once the host wrote the next byte.
    let wat = format!(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "_start") (local $i i32)
                (i32.store (i32.const 16) (i32.const 32)) ;; iovec: 1 byte at 32
                (i32.store (i32.const 20) (i32.const 1))
                (loop $l
                    (drop (call $r (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
                    (i32.store (i32.const 0)
                        (i32.add (i32.load (i32.const 0)) (i32.load8_u (i32.const 32))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get $i) (i32.const {MILLION}))))
                (i32.store (i32.const 8) (i32.const 0))
                (i32.store (i32.const 12) (i32.const 4))
                (drop (call $w (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 40)))))"#
    );
    let runtime = Runtime::new();
    let module = runtime
        .compile("reader", &wat::parse_str(wat).unwrap())
        .unwrap();
    let mut guest = Guest::new(&module, &ModConfig::default()).unwrap();
    let mut suspensions = 0u32;
    let status = loop {
        match guest.resume(u64::MAX / 2).unwrap() {
            GuestStatus::WaitingInput => {
                suspensions += 1;
                guest.write_stdin(&[3]);
            }
            GuestStatus::OutOfFuel => {}
            status => break status,
        }
    };
    assert_eq!(status, GuestStatus::Exited(0));
    assert_eq!(suspensions, MILLION);
    let mut out = Vec::new();
    guest.take_stdout(&mut out);
    assert_eq!(
        u32::from_le_bytes(out[..4].try_into().unwrap()),
        3 * MILLION
    );
}
