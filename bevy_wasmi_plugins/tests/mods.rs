//! Real PDK mods (the committed fixtures in `tests/mods/`, built from `test-mods/` by
//! `scripts/build-mods.sh`) driven through the runtime by a plain loop.

#![allow(clippy::unwrap_used)] // Tests unwrap to fail loudly.

// Under Node (`scripts/web-test.sh`) the same tests run through wasm-bindgen-test.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use bevy_wasmi_plugins::protocol::{
    ErrorCode, Notification, Outcome, Request, ResponseError, to_raw,
};
use bevy_wasmi_plugins::runtime::{
    CallHandle, Limits, ModConfig, ModErrorKind, ModHost, ModInstance, ModModule, NoHost,
    RunStatus, Runtime, VirtualClock, call_fresh,
};
use serde_json::{Value, json};

const ECHO: &[u8] = include_bytes!("mods/echo.wasm");
const BENCH_GUEST: &[u8] = include_bytes!("mods/bench_guest.wasm");

fn echo_module(runtime: &Runtime) -> ModModule {
    runtime.compile("echo", ECHO).expect("echo.wasm compiles")
}

/// A host that doubles numbers and records everything the mod sends.
#[derive(Default)]
struct TestHost {
    requests: Vec<String>,
    notifications: Vec<(String, Value)>,
    logs: Vec<String>,
    warnings: Vec<String>,
}

impl ModHost for TestHost {
    fn request(&mut self, mod_name: &str, request: &Request<'_>) -> Outcome {
        self.requests
            .push(format!("{mod_name}: {}", request.method));
        match &*request.method {
            "host.double" => {
                let (n,): (i64,) = request.params()?;
                to_raw(&(n * 2))
            }
            _ => Err(ResponseError::method_not_found(&request.method)),
        }
    }

    fn notification(&mut self, _mod_name: &str, notification: &Notification<'_>) {
        let params = notification.params().unwrap_or(Value::Null);
        self.notifications
            .push((notification.method.to_string(), params));
    }

    fn log(&mut self, mod_name: &str, line: &str) {
        self.logs.push(format!("{mod_name}: {line}"));
    }

    fn protocol_warning(&mut self, mod_name: &str, warning: &str) {
        self.warnings.push(format!("{mod_name}: {warning}"));
    }
}

fn start(module: &ModModule, config: &ModConfig) -> ModInstance {
    let mut instance = ModInstance::new(module, config).expect("instantiates");
    assert_eq!(
        instance.run(u64::MAX / 2, &mut NoHost).expect("starts"),
        RunStatus::Idle
    );
    instance
}

fn echo() -> ModInstance {
    let runtime = Runtime::new();
    start(&echo_module(&runtime), &ModConfig::default())
}

/// Runs until `handle` completes, with a generous fuel slice.
fn finish(instance: &mut ModInstance, handle: &CallHandle, host: &mut dyn ModHost) -> Outcome {
    for _ in 0..10_000 {
        let status = instance.run(100_000_000, host);
        if let Some(outcome) = handle.try_result() {
            return outcome;
        }
        match status {
            Ok(RunStatus::Yielded) => {}
            other => panic!("mod stopped without answering: {other:?}"),
        }
    }
    panic!("no answer");
}

fn call(instance: &mut ModInstance, method: &str, params: Value) -> Outcome {
    let handle = instance.call(method, &params);
    finish(instance, &handle, &mut TestHost::default())
}

fn ok(outcome: Outcome) -> Value {
    serde_json::from_str(outcome.expect("call succeeds").get()).expect("JSON")
}

#[test]
fn echo_and_typed_params() {
    let mut m = echo();
    assert_eq!(
        ok(call(&mut m, "echo", json!({"a": [1, "two", null]}))),
        json!({"a": [1, "two", null]})
    );
    assert_eq!(ok(call(&mut m, "add", json!([40, 2]))), json!(42));
    assert_eq!(
        ok(call(&mut m, "greet", json!({"name": "Ferris"}))),
        json!({"greeting": "Hello, Ferris!"})
    );
}

#[test]
fn a_completed_call_handle_gives_the_same_answer_again() {
    let mut m = echo();
    let handle = m.call("add", &[40, 2]);
    assert_eq!(
        ok(finish(&mut m, &handle, &mut TestHost::default())),
        json!(42)
    );
    assert_eq!(ok(handle.try_result().expect("still there")), json!(42));
    assert_eq!(handle.try_typed::<i64>().expect("still there").unwrap(), 42);
    assert_eq!(
        ok(futures_lite::future::block_on(handle.result())),
        json!(42)
    );
}

#[test]
fn errors_from_the_mod_reach_the_caller() {
    let mut m = echo();
    let error = call(&mut m, "fail", json!(null)).unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (-32050, "failed on purpose")
    );

    let error = call(&mut m, "nope", json!([])).unwrap_err();
    assert_eq!(error.code, ErrorCode::MethodNotFound.code());
    assert_eq!(error.message, "Method not found: nope");

    let error = call(&mut m, "add", json!(["x", 2])).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidParams.code());
    assert!(
        error.message.starts_with("Invalid params for add: "),
        "{}",
        error.message
    );
    // The mod keeps serving.
    assert_eq!(ok(call(&mut m, "add", json!([1, 2]))), json!(3));
}

#[test]
fn a_persistent_instance_keeps_state_and_a_fresh_one_does_not() {
    let mut m = echo();
    assert_eq!(ok(call(&mut m, "count", json!(null))), json!(1));
    assert_eq!(ok(call(&mut m, "count", json!(null))), json!(2));

    let runtime = Runtime::new();
    let module = echo_module(&runtime);
    let config = ModConfig::default();
    for _ in 0..2 {
        let outcome = call_fresh(&module, &config, "count", &(), 100_000_000, &mut NoHost);
        assert_eq!(ok(outcome), json!(1));
    }
}

#[test]
fn a_fresh_instance_call_waits_for_a_sleeping_mod_a_second_at_most() {
    let runtime = Runtime::new();
    let module = echo_module(&runtime);
    let fresh = |config: &ModConfig, ms: u64| {
        call_fresh(
            &module,
            config,
            "sleep",
            &json!({ "ms": ms }),
            100_000_000,
            &mut NoHost,
        )
    };
    let too_long = "mod `echo` went to sleep during a fresh-instance call for longer than it \
                    may wait (1000 ms in all";
    // Natively a short sleep is waited for; on the web the thread cannot sleep.
    let short = fresh(&ModConfig::default(), 20);
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    assert!(ok(short).as_u64().unwrap() >= 20);
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    assert!(short.unwrap_err().message.starts_with(too_long));
    // Longer than the whole allowance: refused at once, not slept through.
    let error = fresh(&ModConfig::default(), 60_000).unwrap_err();
    assert_eq!(error.code, ErrorCode::InternalError.code());
    assert!(error.message.starts_with(too_long), "{}", error.message);
    // A clock that never moves would have the call wait for ever: it ends too.
    let frozen = ModConfig::default().with_clock(VirtualClock::new(0));
    let error = fresh(&frozen, 100).unwrap_err();
    assert!(error.message.starts_with(too_long), "{}", error.message);
}

#[test]
fn a_mod_calls_the_host_while_serving_a_host_call() {
    let mut m = echo();
    let mut host = TestHost::default();
    let handle = m.call("double_via_host", &[20]);
    assert_eq!(ok(finish(&mut m, &handle, &mut host)), json!(41));
    assert_eq!(host.requests, ["echo: host.double"]);
    // Both round trips happened inside one run.
    let handle = m.call("double_via_host", &[5]);
    assert_eq!(m.run(100_000_000, &mut host).unwrap(), RunStatus::Idle);
    assert_eq!(ok(handle.try_result().unwrap()), json!(11));
}

#[test]
fn concurrent_requests_and_concurrent_host_calls() {
    let mut m = echo();
    let mut host = TestHost::default();
    let handles: Vec<_> = (0..5).map(|i| m.call("add", &[i, 100])).collect();
    let both = m.call("concurrent", &[3, 4]);
    assert_eq!(m.run(100_000_000, &mut host).unwrap(), RunStatus::Idle);
    for (i, handle) in handles.iter().enumerate() {
        assert_eq!(ok(handle.try_result().unwrap()), json!(i + 100));
    }
    assert_eq!(ok(both.try_result().unwrap()), json!(14));
    assert_eq!(host.requests.len(), 2);
}

#[test]
fn notifications_both_ways() {
    let mut m = echo();
    let mut host = TestHost::default();
    let handle = m.call("notify_host", &json!({"times": 3}));
    assert_eq!(ok(finish(&mut m, &handle, &mut host)), json!(3));
    assert_eq!(
        host.notifications,
        [
            ("echo.ping".to_owned(), json!({"i": 0})),
            ("echo.ping".to_owned(), json!({"i": 1})),
            ("echo.ping".to_owned(), json!({"i": 2})),
        ]
    );
    for frame in 0..4 {
        m.notify("game.tick", &json!({"frame": frame})).unwrap();
    }
    assert_eq!(ok(call(&mut m, "ticks", json!(null))), json!(4));
}

#[test]
fn a_long_computation_is_sliced_over_several_runs_and_answers_right() {
    let mut m = echo();
    let iterations = 2_000_000u64;
    let handle = m.call("spin", &json!({ "iterations": iterations }));
    let mut runs = 0;
    let outcome = loop {
        runs += 1;
        let status = m.run(1_000_000, &mut NoHost).unwrap();
        if let Some(outcome) = handle.try_result() {
            break outcome;
        }
        assert_eq!(status, RunStatus::Yielded);
        assert!(m.last_fuel() <= 1_000_000);
    };
    assert!(runs >= 5, "answered after {runs} runs");
    let expected = (0..iterations).fold(0u64, |c, i| c.wrapping_mul(31).wrapping_add(i));
    assert_eq!(ok(outcome), json!(expected));
}

#[test]
fn the_mod_log_goes_to_the_host_line_by_line() {
    let mut m = echo();
    let mut host = TestHost::default();
    let handle = m.call("log", &json!({"message": "hello from the mod"}));
    finish(&mut m, &handle, &mut host).unwrap();
    assert_eq!(host.logs, ["echo: INFO echo: hello from the mod"]);
}

#[test]
fn sleep_waits_on_the_clock_without_running() {
    let clock = VirtualClock::new(0);
    let runtime = Runtime::new();
    let config = ModConfig::default().with_clock(clock.clone());
    let mut m = start(&echo_module(&runtime), &config);
    let handle = m.call("sleep", &json!({"ms": 5}));
    let status = m.run(100_000_000, &mut NoHost).unwrap();
    assert!(matches!(status, RunStatus::Sleeping { .. }), "{status:?}");
    // Nothing happens, and no fuel is used, until the clock moves.
    assert!(matches!(
        m.run(100_000_000, &mut NoHost).unwrap(),
        RunStatus::Sleeping { .. }
    ));
    assert_eq!(m.last_fuel(), 0);
    clock.advance(5_000_000);
    assert_eq!(m.run(100_000_000, &mut NoHost).unwrap(), RunStatus::Idle);
    assert_eq!(ok(handle.try_result().unwrap()), json!(5));
}

#[test]
fn args_env_and_seeded_randomness() {
    let runtime = Runtime::new();
    let module = echo_module(&runtime);
    let config = ModConfig::default()
        .with_args(["--level", "2"])
        .with_env("MOD_MODE", "test")
        .with_random_seed(99);
    let mut m = start(&module, &config);
    assert_eq!(
        ok(call(&mut m, "env", json!(null))),
        json!({"args": ["echo", "--level", "2"], "vars": [["MOD_MODE", "test"]]})
    );
    let first = ok(call(&mut m, "random", json!(null)));
    let mut again = start(&module, &config);
    assert_eq!(ok(call(&mut again, "random", json!(null))), first);
}

#[test]
fn a_panic_is_reported_with_its_message() {
    let mut m = echo();
    let mut host = TestHost::default();
    let handle = m.call("panic", &());
    let error = m.run(100_000_000, &mut host).unwrap_err();
    assert!(matches!(error.kind, ModErrorKind::Panic { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with("mod `echo` panicked: panicked at "),
        "{message}"
    );
    assert!(message.ends_with(": panic on purpose"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
    let answer = handle.try_result().unwrap().unwrap_err();
    assert_eq!(answer.code, ErrorCode::ModCrashed.code());
    assert_eq!(answer.message, message);
}

#[test]
fn an_endless_loop_ends_with_fuel_exhausted() {
    let runtime = Runtime::new();
    let limits = Limits::default().with_max_fuel_per_activation(50_000_000);
    let mut m = start(
        &echo_module(&runtime),
        &ModConfig::default().with_limits(limits),
    );
    let handle = m.call("loop_forever", &());
    let mut runs = 0;
    let error = loop {
        runs += 1;
        match m.run(1_000_000, &mut NoHost) {
            Ok(RunStatus::Yielded) => {}
            Ok(other) => panic!("{other:?}"),
            Err(error) => break error,
        }
    };
    assert!(runs >= 50, "{runs}");
    assert!(matches!(
        error.kind,
        ModErrorKind::FuelExhausted {
            limit: 50_000_000,
            ..
        }
    ));
    assert_eq!(
        handle.try_result().unwrap().unwrap_err().code,
        ErrorCode::FuelExhausted.code()
    );
}

#[test]
fn a_long_conversation_with_the_host_is_not_cut_off_by_the_activation_cap() {
    // Each host call ends an activation, so 2000 calls (~20M fuel in all) pass under a
    // 1M activation cap, while a loop that never waits would not.
    struct Add;
    impl ModHost for Add {
        fn request(&mut self, _: &str, request: &Request<'_>) -> Outcome {
            let (a, b): (i64, i64) = request.params()?;
            to_raw(&(a + b))
        }
    }
    let runtime = Runtime::new();
    let module = runtime.compile("bench_guest", BENCH_GUEST).unwrap();
    let limits = Limits::default().with_max_fuel_per_activation(1_000_000);
    let mut m = start(&module, &ModConfig::default().with_limits(limits));
    let handle = m.call("roundtrip", &json!({"n": 2000}));
    let before = m.total_fuel();
    // At most 1,024 messages are served per run: two runs.
    assert_eq!(m.run(u64::MAX / 2, &mut Add).unwrap(), RunStatus::Yielded);
    assert_eq!(m.run(u64::MAX / 2, &mut Add).unwrap(), RunStatus::Idle);
    assert!(
        m.total_fuel() - before > 2_000_000,
        "{}",
        m.total_fuel() - before
    );
    let expected: i64 = (0..2000).map(|i| i + 2).sum();
    assert_eq!(ok(handle.try_result().unwrap()), json!(expected));
}

#[test]
fn a_memory_bomb_ends_with_out_of_memory() {
    let runtime = Runtime::new();
    let limits = Limits::default().with_max_memory(16 << 20);
    let mut m = start(
        &echo_module(&runtime),
        &ModConfig::default().with_limits(limits),
    );
    let handle = m.call("alloc_forever", &());
    let error = m.run(u64::MAX / 2, &mut NoHost).unwrap_err();
    assert_eq!(
        error.to_string(),
        "mod `echo` ran out of memory: it may use at most 16777216 bytes"
    );
    assert_eq!(
        handle.try_result().unwrap().unwrap_err().code,
        ErrorCode::OutOfMemory.code()
    );
}

#[test]
fn a_log_flood_ends_with_output_flood() {
    let mut m = echo();
    let mut host = TestHost::default();
    let handle = m.call("print_forever", &());
    let error = m.run(u64::MAX / 2, &mut host).unwrap_err();
    assert!(
        matches!(error.kind, ModErrorKind::OutputFlood { limit, .. } if limit == 16 << 20),
        "{error}"
    );
    assert_eq!(host.logs[0], "echo: print_forever line 0");
    assert_eq!(
        handle.try_result().unwrap().unwrap_err().code,
        ErrorCode::OutputFlood.code()
    );
}

#[test]
fn an_endless_stdout_line_ends_with_message_too_large() {
    let mut m = echo();
    let handle = m.call("stdout_flood", &());
    let error = m.run(u64::MAX / 2, &mut NoHost).unwrap_err();
    assert_eq!(
        error.to_string(),
        "mod `echo` wrote a message longer than 1048576 bytes on stdout"
    );
    assert_eq!(
        handle.try_result().unwrap().unwrap_err().code,
        ErrorCode::MessageTooLarge.code()
    );
}

#[test]
fn a_message_over_the_mods_cap_fails_at_once_and_is_not_sent() {
    let runtime = Runtime::new();
    let config = ModConfig::default().with_limits(Limits::default().with_max_message_size(4096));
    let mut m = start(&echo_module(&runtime), &config);
    let big = json!({ "text": "x".repeat(5000) });
    let handle = m.call("echo", &big);
    let error = handle.try_result().expect("completes at once").unwrap_err();
    assert_eq!(error.code, ErrorCode::MessageTooLarge.code());
    assert!(
        error.message.starts_with(
            "the message to mod `echo` is 5061 bytes, longer than its message cap of 4096 bytes"
        ),
        "{}",
        error.message
    );
    assert_eq!(m.guest().stdin_pending(), 0, "nothing was written");
    let error = m.notify("game.tick", &big).unwrap_err();
    assert_eq!(error.code, ErrorCode::MessageTooLarge.code());
    assert_eq!(m.guest().stdin_pending(), 0, "nothing was written");
    // The mod goes on answering calls that fit.
    assert_eq!(ok(call(&mut m, "echo", json!([1]))), json!([1]));
}

/// Answers every request with a string of `len` bytes.
struct Verbose {
    len: usize,
}

impl ModHost for Verbose {
    fn request(&mut self, _mod_name: &str, _request: &Request<'_>) -> Outcome {
        to_raw(&"x".repeat(self.len))
    }
}

#[test]
fn a_host_answer_over_the_mods_cap_is_an_error_for_the_mod_not_a_wait() {
    // The PDK refuses lines over 1 MiB, the default cap: an answer that long would
    // leave the mod's call waiting forever.
    let mut m = echo();
    let relay = json!({ "method": "host.big", "params": [] });
    // An answer that fits reaches the mod, which hands it on.
    let handle = m.call("relay", &relay);
    let fits = finish(&mut m, &handle, &mut Verbose { len: 100 });
    assert_eq!(ok(fits), json!("x".repeat(100)));
    // One that does not fit is replaced by -32004, which the mod hands on too.
    let handle = m.call("relay", &relay);
    let error = finish(&mut m, &handle, &mut Verbose { len: 1 << 20 }).unwrap_err();
    assert_eq!(error.code, ErrorCode::MessageTooLarge.code(), "{error:?}");
    assert_eq!(
        error.message,
        "the answer to host.big is 1048578 bytes, longer than the message cap of mod `echo` \
         (1048576 bytes)"
    );
    assert_eq!(ok(call(&mut m, "echo", json!([1]))), json!([1]));
}

#[test]
fn a_stack_overflow_is_a_crash() {
    let mut m = echo();
    let handle = m.call("stack_overflow", &());
    let error = m.run(u64::MAX / 2, &mut NoHost).unwrap_err();
    assert!(
        matches!(
            error.kind,
            ModErrorKind::StackOverflow | ModErrorKind::Trap { .. }
        ),
        "{error}"
    );
    assert_eq!(
        handle.try_result().unwrap().unwrap_err().code,
        ErrorCode::ModCrashed.code()
    );
}

#[test]
fn exit_ends_the_mod_and_fails_its_calls() {
    let mut m = echo();
    let other = m.call("count", &());
    let handle = m.call("exit", &json!({"code": 7}));
    assert_eq!(
        m.run(u64::MAX / 2, &mut NoHost).unwrap(),
        RunStatus::Exited(7)
    );
    // The mod exited before it wrote its answers: both calls fail, naming the exit.
    for pending in [other, handle] {
        let error = pending.try_result().unwrap().unwrap_err();
        assert_eq!(error.message, "mod `echo` exited with code 7");
    }
    assert!(matches!(m.state(), Ok(RunStatus::Exited(7))));
    let late = m.call("count", &()).try_result().unwrap().unwrap_err();
    assert_eq!(late.code, ErrorCode::ModUnavailable.code());
}

#[test]
fn malformed_input_gets_the_specified_errors_back() {
    let mut m = echo();
    let mut host = TestHost::default();
    // The host sends garbage: the mod answers with a parse error for id null, which the
    // host reports as a response nobody asked for.
    m.write_raw(b"{not json\n");
    assert_eq!(m.run(100_000_000, &mut host).unwrap(), RunStatus::Idle);
    assert_eq!(host.warnings, ["echo: response to unknown request id null"]);
    // And the mod still works.
    assert_eq!(ok(call(&mut m, "add", json!([2, 2]))), json!(4));
}

#[test]
fn closing_input_lets_a_pdk_mod_exit_cleanly() {
    let mut m = echo();
    m.close_input();
    assert_eq!(
        m.run(100_000_000, &mut NoHost).unwrap(),
        RunStatus::Exited(0)
    );
}

#[test]
fn a_crashed_mod_does_not_affect_a_healthy_one() {
    let runtime = Runtime::new();
    let module = echo_module(&runtime);
    let mut sick = start(&module, &ModConfig::default());
    let mut healthy = start(&module, &ModConfig::default());
    let doomed = sick.call("panic", &());
    assert!(sick.run(u64::MAX / 2, &mut NoHost).is_err());
    assert!(doomed.try_result().unwrap().is_err());
    assert_eq!(ok(call(&mut healthy, "add", json!([20, 22]))), json!(42));
}

#[test]
fn a_call_past_its_fuel_deadline_fails_and_the_mod_carries_on() {
    // `spin(2e6)` takes about 26 M fuel; its deadline is 2 M. The call fails with
    // -32007 within one slice of the deadline, the mod goes on with its work, and a
    // later call is answered.
    let mut m = echo();
    let before = m.total_fuel();
    let spin = m.call_with_deadline("spin", &json!({ "iterations": 2_000_000 }), 2_000_000);
    let error = loop {
        m.run(100_000, &mut NoHost).unwrap();
        if let Some(outcome) = spin.try_result() {
            break outcome.unwrap_err();
        }
    };
    let used = m.total_fuel() - before;
    assert!((2_000_000..=2_100_000).contains(&used), "{used}");
    assert_eq!(error.code, ErrorCode::DeadlineExceeded.code());
    assert_eq!(
        error.message,
        "mod `echo` did not answer call 1 within its deadline of 2000000 fuel"
    );
    assert!(matches!(m.state(), Ok(RunStatus::Yielded)));
    let echoed = m.call("echo", &json!([7]));
    assert_eq!(ok(finish(&mut m, &echoed, &mut NoHost)), json!([7]));
}
