//! The runtime's cases natively and inside wasm32, with one harness, so the two can be
//! set side by side (`bash scripts/web-bench.sh` runs both and prints the ratios):
//!
//! - `ping`: a host → mod call on a persistent instance (`bench_guest`'s `ping`);
//! - `roundtrip`: a mod → host call through the PDK (`host::call("add", ..)` in a loop);
//! - `fresh_instance`: `ping` on a new instance per call;
//! - `compile`: compiling `bench_guest.wasm`;
//! - `start_lazy`, `start_deferred`: compiling it and running a new instance until it
//!   waits for input, with `Compilation::Lazy` and with `Compilation::Deferred`;
//! - `spin`: a fuel-bound loop in the guest (`echo`'s `spin`), per million fuel.
//!
//! Natively `cargo bench -p bevy_wasmi_plugins --no-default-features --bench web` runs it
//! (criterion does not build for wasm32, so this harness is a plain loop: each case is
//! timed in batches of at least 20 ms, and the median of 15 batches is printed, in
//! nanoseconds per operation, as `web-bench <case> <ns>` lines). Inside wasm32 the same
//! `run` runs when the module is loaded, and the lines go to the JavaScript console.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use bevy_wasmi_plugins::protocol::{Outcome, Request, to_raw};
use bevy_wasmi_plugins::runtime::{
    CallHandle, Compilation, ModConfig, ModHost, ModInstance, ModModule, NoHost, RunStatus,
    Runtime, call_fresh,
};
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use web_time::Instant;

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
use std::time::Instant;

const BENCH_GUEST: &[u8] = include_bytes!("../tests/mods/bench_guest.wasm");
const ECHO: &[u8] = include_bytes!("../tests/mods/echo.wasm");

/// Batches per case; the median is reported.
const SAMPLES: usize = 15;
/// Shortest batch, in nanoseconds (the web's clocks are coarse).
const MIN_BATCH_NS: f64 = 20e6;
/// Iterations of `spin` per call, and the fuel one call uses is measured.
const SPIN: u64 = 200_000;

/// Answers `add` with the sum of its two numbers.
struct AddHost;

impl ModHost for AddHost {
    fn request(&mut self, _mod_name: &str, request: &Request<'_>) -> Outcome {
        let (a, b): (i64, i64) = request.params()?;
        to_raw(&(a + b))
    }
}

fn complete(instance: &mut ModInstance, handle: &CallHandle, host: &mut dyn ModHost) -> String {
    loop {
        let status = instance.run(u64::MAX / 2, host).unwrap();
        if let Some(outcome) = handle.try_result() {
            return outcome.unwrap().get().to_owned();
        }
        assert_eq!(status, RunStatus::Yielded, "mod idle without answering");
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

/// The median time of one operation, in nanoseconds. `batch(n)` does `n` operations.
fn measure(mut batch: impl FnMut(u64)) -> f64 {
    batch(1);
    let mut n = 1u64;
    loop {
        let start = Instant::now();
        batch(n);
        let ns = start.elapsed().as_secs_f64() * 1e9;
        if ns >= MIN_BATCH_NS {
            break;
        }
        n = n.saturating_mul(if ns < MIN_BATCH_NS / 10.0 { 10 } else { 2 });
    }
    let mut times: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            batch(n);
            start.elapsed().as_secs_f64() * 1e9 / n as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[SAMPLES / 2]
}

/// Runs every case and reports each median through `print`.
fn run(print: &dyn Fn(&str)) {
    let runtime = Runtime::new();
    let guest = runtime.compile("bench_guest", BENCH_GUEST).unwrap();

    let mut ping = started(&guest);
    let ns = measure(|n| {
        for _ in 0..n {
            let handle = ping.call("ping", &());
            assert_eq!(complete(&mut ping, &handle, &mut NoHost), r#""pong""#);
        }
    });
    print(&format!("web-bench ping {ns:.1}"));

    let mut caller = started(&guest);
    let ns = measure(|n| {
        let handle = caller.call("roundtrip", &serde_json::json!({ "n": n }));
        let expected = (0..n as i64).map(|i| i + 2).sum::<i64>();
        assert_eq!(
            complete(&mut caller, &handle, &mut AddHost),
            expected.to_string()
        );
    });
    print(&format!("web-bench roundtrip {ns:.1}"));

    let config = ModConfig::default();
    let ns = measure(|n| {
        for _ in 0..n {
            let result =
                call_fresh(&guest, &config, "ping", &(), u64::MAX / 2, &mut NoHost).unwrap();
            assert_eq!(result.get(), r#""pong""#);
        }
    });
    print(&format!("web-bench fresh_instance {ns:.1}"));

    let ns = measure(|n| {
        for _ in 0..n {
            black_box(
                runtime
                    .compile("bench_guest", black_box(BENCH_GUEST))
                    .unwrap(),
            );
        }
    });
    print(&format!("web-bench compile {ns:.1}"));

    // A mod's whole start, compile to idle, in the plugin's two default modes (lazy
    // translation natively, deferred compilation in a browser).
    for (case, compilation) in [
        ("start_lazy", Compilation::Lazy),
        ("start_deferred", Compilation::Deferred),
    ] {
        let runtime = Runtime::with_compilation(compilation);
        let ns = measure(|n| {
            for _ in 0..n {
                let module = runtime
                    .compile("bench_guest", black_box(BENCH_GUEST))
                    .unwrap();
                black_box(started(&module));
            }
        });
        print(&format!("web-bench {case} {ns:.1}"));
    }

    let echo = runtime.compile("echo", ECHO).unwrap();
    let mut spinner = started(&echo);
    let params = serde_json::json!({ "iterations": SPIN });
    let before = spinner.total_fuel();
    let handle = spinner.call("spin", &params);
    complete(&mut spinner, &handle, &mut NoHost);
    let fuel = spinner.total_fuel() - before;
    let ns = measure(|n| {
        for _ in 0..n {
            let handle = spinner.call("spin", &params);
            black_box(complete(&mut spinner, &handle, &mut NoHost));
        }
    });
    // Per million fuel units.
    print(&format!("web-bench spin {:.1}", ns * 1e6 / fuel as f64));
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn main() {
    run(&|line| println!("{line}"));
}

/// Inside wasm32, wasm-bindgen runs `main` when the module is loaded.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn main() {
    use wasm_bindgen::prelude::wasm_bindgen;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = console)]
        fn log(line: &str);
    }

    run(&|line| log(line));
}
