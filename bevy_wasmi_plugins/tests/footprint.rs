//! What a mod costs to start and hold (issue 15): lazy translation keeps fuel
//! deterministic, the committed PDK mods start small, and a stack that runs out in
//! linear memory is reported as a stack overflow.

#![allow(clippy::unwrap_used)] // Tests unwrap to fail loudly.

// Under Node (`scripts/web-test.sh`) the same tests run through wasm-bindgen-test.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use bevy_wasmi_plugins::protocol::{Outcome, Request, to_raw};
use bevy_wasmi_plugins::runtime::{
    CallHandle, Compilation, ModConfig, ModError, ModErrorKind, ModHost, ModInstance, ModModule,
    NoHost, RunStatus, Runtime,
};
use serde_json::json;
use serde_json::value::RawValue;

const BENCH_GUEST: &[u8] = include_bytes!("mods/bench_guest.wasm");
const ECHO: &[u8] = include_bytes!("mods/echo.wasm");
const MODS: [(&str, &[u8]); 5] = [
    ("bench_guest", BENCH_GUEST),
    ("echo", ECHO),
    ("hostile", include_bytes!("mods/hostile.wasm")),
    ("spec", include_bytes!("mods/spec.wasm")),
    ("ticker", include_bytes!("mods/ticker.wasm")),
];

/// Answers `add` with the sum of its two numbers.
struct AddHost;

impl ModHost for AddHost {
    fn request(&mut self, _mod_name: &str, request: &Request<'_>) -> Outcome {
        let (a, b): (i64, i64) = request.params()?;
        to_raw(&(a + b))
    }
}

fn started(module: &ModModule) -> ModInstance {
    let mut instance = ModInstance::new(module, &ModConfig::default()).unwrap();
    assert_eq!(
        instance.run(u64::MAX / 2, &mut NoHost).unwrap(),
        RunStatus::Idle
    );
    instance
}

/// Runs `instance` until `handle` completes; the answer as JSON text.
fn answer(instance: &mut ModInstance, handle: &CallHandle) -> String {
    loop {
        instance.run(u64::MAX / 2, &mut AddHost).unwrap();
        if let Some(outcome) = handle.try_result() {
            return outcome.unwrap().get().to_owned();
        }
    }
}

/// The answers of a fixed series of calls and the fuel each used (start-up first).
fn fuel_of_calls(module: &ModModule) -> Vec<(String, u64)> {
    let mut instance = ModInstance::new(module, &ModConfig::default()).unwrap();
    instance.run(u64::MAX / 2, &mut NoHost).unwrap();
    let mut seen = vec![("start".to_owned(), instance.total_fuel())];
    let calls = [
        ("ping", json!(null)),
        ("add", json!([40, 2])),
        ("roundtrip", json!({ "n": 3 })),
        ("ping", json!(null)),
    ];
    for (method, params) in calls {
        let before = instance.total_fuel();
        let handle = instance.call(method, &params);
        let result = answer(&mut instance, &handle);
        seen.push((result, instance.total_fuel() - before));
    }
    seen
}

/// `error` is mod `name`'s `InvalidModule`, said as such.
fn assert_invalid_module(error: &ModError, name: &str) {
    assert!(
        matches!(error.kind, ModErrorKind::InvalidModule { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with(&format!("mod `{name}` is not a valid WebAssembly module: ")),
        "{error}"
    );
}

#[test]
fn lazy_translation_costs_no_fuel_so_every_instance_uses_the_same() {
    let eager = Runtime::with_compilation(Compilation::Eager);
    let eager_module = eager.compile("bench_guest", BENCH_GUEST).unwrap();
    let expected = fuel_of_calls(&eager_module);
    assert_eq!(expected[1].0, r#""pong""#);
    assert_eq!(expected[2].0, "42");
    assert_eq!(expected[3].0, "9"); // (0 + 2) + (1 + 2) + (2 + 2)
    assert!(expected.iter().all(|(_, fuel)| *fuel > 0), "{expected:?}");

    let lazy = Runtime::new();
    assert_eq!(lazy.compilation(), Compilation::Lazy);
    let module = lazy.compile("bench_guest", BENCH_GUEST).unwrap();
    // The first instance translates every function it calls; the second finds them
    // translated (one module, shared). Both use the fuel eager code uses.
    assert_eq!(fuel_of_calls(&module), expected);
    assert_eq!(fuel_of_calls(&module), expected);

    // Deferred compilation validates each function where lazy translation translates
    // it, and that costs no fuel either.
    let deferred = Runtime::with_compilation(Compilation::Deferred);
    let module = deferred.compile("bench_guest", BENCH_GUEST).unwrap();
    assert_eq!(fuel_of_calls(&module), expected);
    assert_eq!(fuel_of_calls(&module), expected);
}

#[test]
fn deferred_compilation_finds_an_invalid_function_when_it_is_first_called() {
    // `_start` runs `$good`, then waits for `$bad`'s turn: the module loads, the mod
    // runs up to its first call of the invalid function, and fails there, naming it.
    let wat = r#"(module
        (memory (export "memory") 1)
        (global $n (mut i32) (i32.const 0))
        (func $good (global.set $n (i32.add (global.get $n) (i32.const 1))))
        (func $bad (result i32) (i64.const 1))
        (func (export "_start") (call $good) (drop (call $bad))))"#;
    let wasm = wat::parse_str(wat).unwrap();
    let runtime = Runtime::with_compilation(Compilation::Deferred);
    let module = runtime.compile("bad", &wasm).unwrap();
    let mut instance = ModInstance::new(&module, &ModConfig::default()).unwrap();
    let error = instance.run(u64::MAX / 2, &mut NoHost).unwrap_err();
    assert_invalid_module(&error, "bad");
    // The next instance of the same module fails the same way, without validating again.
    let mut instance = ModInstance::new(&module, &ModConfig::default()).unwrap();
    let again = instance.run(u64::MAX / 2, &mut NoHost).unwrap_err();
    assert_invalid_module(&again, "bad");
    // A broken import list is still found when the module loads.
    let wat = r#"(module
        (import "env" "boom" (func))
        (memory (export "memory") 1)
        (func (export "_start")))"#;
    let error = runtime
        .compile("imports", &wat::parse_str(wat).unwrap())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "mod `imports` imports `env::boom`, which the host does not provide (mods may import only `wasi_snapshot_preview1` functions)"
    );
}

#[test]
fn lazy_compilation_still_rejects_an_invalid_function_up_front() {
    // A function that returns an i64 where it promises an i32: never called, but
    // validation is not lazy.
    let wat = r#"(module
        (memory (export "memory") 1)
        (func $bad (result i32) (i64.const 1))
        (func (export "_start")))"#;
    // `wat` checks syntax, not types.
    let wasm = wat::parse_str(wat).unwrap();
    let error = Runtime::new().compile("bad", &wasm).unwrap_err();
    assert_invalid_module(&error, "bad");
}

#[test]
fn every_committed_pdk_mod_starts_with_at_most_four_pages() {
    let runtime = Runtime::new();
    for (name, wasm) in MODS {
        let module = runtime.compile(name, wasm).unwrap();
        let instance = started(&module);
        assert!(
            instance.memory_size() <= 4 << 16,
            "`{name}` idles with {} bytes of linear memory",
            instance.memory_size()
        );
    }
}

#[test]
fn a_pdk_mod_whose_stack_runs_out_overflowed_its_call_stack() {
    // echo's `stack_overflow` recurses with 256-byte frames until its 64 KiB stack,
    // first in linear memory, runs off the bottom: an out-of-bounds access that the
    // exported `__stack_pointer` shows to be the stack's.
    let runtime = Runtime::new();
    let module = runtime.compile("echo", ECHO).unwrap();
    let mut instance = started(&module);
    let handle = instance.call("stack_overflow", &());
    let error = instance.run(u64::MAX / 2, &mut NoHost).unwrap_err();
    assert!(matches!(error.kind, ModErrorKind::StackOverflow), "{error}");
    assert_eq!(
        error.to_string(),
        "mod `echo` overflowed its call stack (unbounded recursion?)"
    );
    assert!(handle.try_result().unwrap().is_err());
}

#[test]
fn the_default_stack_holds_json_as_deep_as_serde_json_reads() {
    // serde_json refuses input nested more than 128 deep. echo's `nesting` reads its
    // params (126 levels inside the params array) into a `serde_json::Value`, one
    // recursion per level: the 64 KiB stack of `.cargo/config.toml` holds it all. (With a
    // 16 KiB stack, which would let a PDK mod start with one page, this overflowed
    // between 48 and 64 levels.)
    let runtime = Runtime::new();
    let module = runtime.compile("echo", ECHO).unwrap();
    for (open, close) in [("[", "]"), (r#"{"a":"#, "}")] {
        let nested = format!("[{}1{}]", open.repeat(126), close.repeat(126));
        let params = RawValue::from_string(nested).unwrap();
        let mut instance = started(&module);
        let handle = instance.call("nesting", &params);
        instance.run(u64::MAX / 2, &mut NoHost).unwrap();
        let result = handle.try_result().unwrap().unwrap();
        assert_eq!(result.get(), "127", "{open}");
    }
}

/// A guest with its stack first in memory (as `--stack-first` lays it out) and its
/// stack pointer exported, whose `_start` runs `body`.
fn stack_first_guest(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (memory (export "memory") 1)
            (global $sp (export "__stack_pointer") (mut i32) (i32.const 16384))
            (func $down (param $n i32)
              ;; A 256-byte frame, written at its bottom, as compiled code does.
              (global.set $sp (i32.sub (global.get $sp) (i32.const 256)))
              (i32.store (global.get $sp) (local.get $n))
              (call $down (i32.add (local.get $n) (i32.const 1)))
              (global.set $sp (i32.add (global.get $sp) (i32.const 256))))
            (func (export "_start") {body}))"#
    ))
    .unwrap()
}

#[test]
fn only_an_out_of_bounds_access_by_the_stack_is_a_stack_overflow() {
    let runtime = Runtime::new();
    let run = |wasm: &[u8]| {
        let module = runtime.compile("c_mod", wasm).unwrap();
        let mut instance = ModInstance::new(&module, &ModConfig::default()).unwrap();
        instance.run(u64::MAX / 2, &mut NoHost).unwrap_err()
    };
    let overflow = run(&stack_first_guest("(call $down (i32.const 0))"));
    assert_eq!(
        overflow.to_string(),
        "mod `c_mod` overflowed its call stack (unbounded recursion?)"
    );
    // A wild pointer with the stack pointer where it belongs is an ordinary trap.
    let wild = run(&stack_first_guest(
        "(i32.store (i32.const 0x7fff0000) (i32.const 1))",
    ));
    assert_eq!(
        wild.to_string(),
        "mod `c_mod` trapped: out of bounds memory access"
    );
}
