//! Runtime benchmarks (issue #2 item 8):
//!
//! - `roundtrip/guest_to_host`: a PDK mod calls a trivial host method (`add` with two
//!   numbers) in a loop through `host::call`; time per round trip. Beside it,
//!   `roundtrip/runtime_only`: a WAT guest writing the same request line and reading the
//!   answer, which is the runtime's share without the guest's JSON work, and
//!   `roundtrip/raw_wasmi_host_call`: a WAT guest calling a typed wasmi host function in
//!   a loop, the floor an interpreter call can reach.
//! - `host_to_guest/persistent` vs `host_to_guest/fresh_instance`: the host calls `ping`
//!   on one long-lived instance, or on a new instance per call.
//! - `startup/compile` and `startup/instantiate_to_idle`.
//! - `fuel/spin`: fuel units per second (reported as elements per second).
//!
//! The `.wasm` size and the memory of an idle instance are printed at the start.
//!
//! Counting mode, for `valgrind --tool=callgrind`: with `COUNT=<case>:<n>` in the
//! environment the binary does no benchmarking; it sets the case up, runs it `n` times
//! and exits. The instructions per call are the difference of two runs (say `n` = 1 and
//! 10,001) divided by the difference of `n`, which takes start-up out. Cases: `ping`
//! (persistent), `fresh` (a fresh instance per `ping`), `roundtrip` (guest → host round
//! trips, one call of `roundtrip` with `n`), `compile`, `instantiate` (to idle).
//!
//! ```text
//! cargo bench -p bevy_wasmi_plugins --bench runtime --no-run
//! COUNT=ping:10001 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/deps/runtime-<hash>
//! ```

// `criterion_group!` generates undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bevy_wasmi_plugins::protocol::{Outcome, Request, to_raw};
use bevy_wasmi_plugins::runtime::{
    Compilation, Limits, ModConfig, ModHost, ModInstance, ModModule, NoHost, RunStatus, Runtime,
    call_fresh,
};
use criterion::{Criterion, Throughput, criterion_group};

const BENCH_GUEST: &[u8] = include_bytes!("../tests/mods/bench_guest.wasm");
const ECHO: &[u8] = include_bytes!("../tests/mods/echo.wasm");

/// Answers `add` with the sum of its two numbers.
struct AddHost;

impl ModHost for AddHost {
    fn request(&mut self, _mod_name: &str, request: &Request<'_>) -> Outcome {
        let (a, b): (i64, i64) = request.params()?;
        to_raw(&(a + b))
    }
}

/// Runs `instance` until `handle` completes; panics if the mod fails.
fn complete(
    instance: &mut ModInstance,
    handle: &bevy_wasmi_plugins::runtime::CallHandle,
    host: &mut dyn ModHost,
) -> Box<serde_json::value::RawValue> {
    loop {
        let status = instance.run(u64::MAX / 2, host).expect("mod runs");
        if let Some(outcome) = handle.try_result() {
            return outcome.expect("call succeeds");
        }
        assert_eq!(status, RunStatus::Yielded, "mod idle without answering");
    }
}

fn started(module: &ModModule) -> ModInstance {
    // No call deadline: criterion's longest batches of round trips pass the default 10¹⁰.
    let config =
        ModConfig::default().with_limits(Limits::default().with_max_fuel_per_call(u64::MAX / 2));
    let mut instance = ModInstance::new(module, &config).expect("instantiates");
    assert_eq!(
        instance.run(u64::MAX / 2, &mut NoHost).expect("starts"),
        RunStatus::Idle
    );
    instance
}

fn report_sizes(module: &ModModule) {
    let instance = started(module);
    eprintln!(
        "bench_guest.wasm: {} bytes; idle instance linear memory: {} bytes ({} pages)",
        module.wasm_size(),
        instance.memory_size(),
        instance.memory_size() / 65536
    );
}

fn roundtrip(c: &mut Criterion) {
    let runtime = Runtime::new();
    let module = runtime
        .compile("bench_guest", BENCH_GUEST)
        .expect("compiles");
    report_sizes(&module);
    let mut group = c.benchmark_group("roundtrip");
    group.measurement_time(Duration::from_secs(5));

    let mut instance = started(&module);
    group.bench_function("guest_to_host", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            let handle = instance.call("roundtrip", &serde_json::json!({ "n": iters }));
            let sum = complete(&mut instance, &handle, &mut AddHost);
            let elapsed = start.elapsed();
            let expected = (0..iters as i64).map(|i| i + 2).sum::<i64>();
            assert_eq!(sum.get(), expected.to_string());
            elapsed
        });
    });

    // The runtime's own share: a WAT guest that writes the same request line and reads
    // the answer N times, with no JSON work of its own (N comes as 4 raw bytes on stdin).
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 1000) "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":[1,2]}\n")
        (func (export "_start") (local $n i32)
          (loop $forever
            ;; read N
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.const 4))
            (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
            (local.set $n (i32.load (i32.const 100)))
            (block $done (loop $next
              (br_if $done (i32.eqz (local.get $n)))
              (i32.store (i32.const 16) (i32.const 1000))
              (i32.store (i32.const 20) (i32.const 55))
              (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
              (i32.store (i32.const 0) (i32.const 2000))
              (i32.store (i32.const 4) (i32.const 4096))
              (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br $next)))
            (br $forever))))"#;
    let wat_module = runtime
        .compile("runtime_only", &wat::parse_str(wat).expect("WAT"))
        .expect("compiles");
    let mut wat_instance = started(&wat_module);
    group.bench_function("runtime_only", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            wat_instance.write_raw(&(iters as u32).to_le_bytes());
            // A run serves at most `max_messages_per_run` messages: run until idle.
            while wat_instance.run(u64::MAX / 2, &mut AddHost).expect("runs") != RunStatus::Idle {}
            start.elapsed()
        });
    });

    // The floor: a wasmi typed host function called from a guest loop.
    let wat = r#"(module
        (import "host" "add" (func $add (param i32 i32) (result i32)))
        (func (export "run") (param $n i32) (result i32) (local $i i32) (local $sum i32)
          (block $done (loop $l
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $sum (i32.add (local.get $sum) (call $add (local.get $i) (i32.const 2))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
          (local.get $sum)))"#;
    let engine = wasmi::Engine::default();
    let raw = wasmi::Module::new(&engine, wat::parse_str(wat).expect("WAT")).expect("module");
    let mut store = wasmi::Store::new(&engine, ());
    let mut linker = wasmi::Linker::<()>::new(&engine);
    linker
        .func_wrap("host", "add", |a: i32, b: i32| a.wrapping_add(b))
        .expect("links");
    let raw_instance = linker
        .instantiate_and_start(&mut store, &raw)
        .expect("instantiates");
    let run = raw_instance
        .get_typed_func::<i32, i32>(&store, "run")
        .expect("run export");
    group.bench_function("raw_wasmi_host_call", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            black_box(run.call(&mut store, iters as i32).expect("runs"));
            start.elapsed()
        });
    });
    group.finish();
}

fn host_to_guest(c: &mut Criterion) {
    let runtime = Runtime::new();
    let module = runtime
        .compile("bench_guest", BENCH_GUEST)
        .expect("compiles");
    let mut group = c.benchmark_group("host_to_guest");
    let mut instance = started(&module);
    group.bench_function("persistent", |b| {
        b.iter(|| {
            let handle = instance.call("ping", &());
            let result = complete(&mut instance, &handle, &mut NoHost);
            assert_eq!(result.get(), r#""pong""#);
        });
    });
    let config = ModConfig::default();
    group.bench_function("fresh_instance", |b| {
        b.iter(|| {
            let result = call_fresh(&module, &config, "ping", &(), u64::MAX / 2, &mut NoHost)
                .expect("answers");
            assert_eq!(result.get(), r#""pong""#);
        });
    });
    group.finish();
}

fn startup(c: &mut Criterion) {
    let runtime = Runtime::new();
    let mut group = c.benchmark_group("startup");
    group.bench_function("compile", |b| {
        b.iter(|| {
            runtime
                .compile("bench_guest", black_box(BENCH_GUEST))
                .expect("compiles")
        });
    });
    let module = runtime
        .compile("bench_guest", BENCH_GUEST)
        .expect("compiles");
    group.bench_function("instantiate_to_idle", |b| {
        b.iter(|| started(&module));
    });
    // The whole start of a mod with deferred compilation: compile, instantiate, run
    // `main` until it waits for input (which translates the functions it runs).
    let deferred = Runtime::with_compilation(Compilation::Deferred);
    group.bench_function("compile_deferred", |b| {
        b.iter_with_large_drop(|| {
            deferred
                .compile("bench_guest", black_box(BENCH_GUEST))
                .expect("compiles")
        });
    });
    group.bench_function("deferred_compile_and_start", |b| {
        b.iter(|| {
            let module = deferred
                .compile("bench_guest", black_box(BENCH_GUEST))
                .expect("compiles");
            started(&module)
        });
    });
    group.bench_function("lazy_compile_and_start", |b| {
        b.iter(|| {
            let module = runtime
                .compile("bench_guest", black_box(BENCH_GUEST))
                .expect("compiles");
            started(&module)
        });
    });
    group.finish();
}

fn fuel(c: &mut Criterion) {
    let runtime = Runtime::new();
    let module = runtime.compile("echo", ECHO).expect("compiles");
    let mut instance = started(&module);
    let params = serde_json::json!({ "iterations": 1_000_000 });
    // Measure the fuel one call uses, then report fuel per second.
    let before = instance.total_fuel();
    let handle = instance.call("spin", &params);
    complete(&mut instance, &handle, &mut NoHost);
    let fuel = instance.total_fuel() - before;
    eprintln!("spin(1e6) uses {fuel} fuel");
    let mut group = c.benchmark_group("fuel");
    group.throughput(Throughput::Elements(fuel));
    group.bench_function("spin", |b| {
        b.iter(|| {
            let handle = instance.call("spin", &params);
            complete(&mut instance, &handle, &mut NoHost)
        });
    });
    group.finish();
}

/// Runs `case` `n` times (see the counting mode in the crate docs).
fn count(case: &str, n: u64) {
    let runtime = Runtime::new();
    let module = runtime
        .compile("bench_guest", BENCH_GUEST)
        .expect("compiles");
    let config = ModConfig::default();
    match case {
        "ping" => {
            let mut instance = started(&module);
            for _ in 0..n {
                let handle = instance.call("ping", &());
                let result = complete(&mut instance, &handle, &mut NoHost);
                assert_eq!(result.get(), r#""pong""#);
            }
        }
        "fresh" => {
            for _ in 0..n {
                let result = call_fresh(&module, &config, "ping", &(), u64::MAX / 2, &mut NoHost)
                    .expect("answers");
                assert_eq!(result.get(), r#""pong""#);
            }
        }
        "roundtrip" => {
            let mut instance = started(&module);
            let handle = instance.call("roundtrip", &serde_json::json!({ "n": n }));
            complete(&mut instance, &handle, &mut AddHost);
        }
        "compile" => {
            for _ in 0..n {
                black_box(runtime.compile("bench_guest", black_box(BENCH_GUEST)))
                    .expect("compiles");
            }
        }
        "compile_deferred" => {
            let runtime = Runtime::with_compilation(Compilation::Deferred);
            for _ in 0..n {
                black_box(runtime.compile("bench_guest", black_box(BENCH_GUEST)))
                    .expect("compiles");
            }
        }
        "start_deferred" | "start_lazy" => {
            let runtime = Runtime::with_compilation(if case == "start_deferred" {
                Compilation::Deferred
            } else {
                Compilation::Lazy
            });
            for _ in 0..n {
                let module = runtime
                    .compile("bench_guest", black_box(BENCH_GUEST))
                    .expect("compiles");
                black_box(started(&module));
            }
        }
        "instantiate" => {
            for _ in 0..n {
                black_box(started(&module));
            }
        }
        _ => panic!("unknown COUNT case `{case}`: ping, fresh, roundtrip, compile, instantiate"),
    }
}

criterion_group!(benches, roundtrip, host_to_guest, startup, fuel);

fn main() {
    if let Ok(spec) = std::env::var("COUNT") {
        let (case, n) = spec.split_once(':').expect("COUNT=<case>:<n>");
        count(case, n.parse().expect("COUNT=<case>:<n> with a number"));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
