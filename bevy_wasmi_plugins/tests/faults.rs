//! Hostile and broken guests, as tiny WAT modules: each ends with its own clear error
//! naming the mod, pending calls complete with that error, and the host stays in
//! control (every `run` returns).

#![allow(clippy::unwrap_used)] // Tests unwrap to fail loudly.

// Under Node (`scripts/web-test.sh`) the same tests run through wasm-bindgen-test.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use bevy_wasmi_plugins::protocol::{ErrorCode, Outcome, Request};
use bevy_wasmi_plugins::runtime::{
    Guest, GuestStatus, Limits, ModConfig, ModError, ModErrorKind, ModHost, ModInstance, NoHost,
    RunStatus, Runtime, START_SECTION_FUEL, TrapCode,
};

fn compile(name: &str, wat: &str) -> Result<bevy_wasmi_plugins::runtime::ModModule, ModError> {
    Runtime::new().compile(name, &wat::parse_str(wat).expect("valid WAT"))
}

/// A mod whose `_start` is `body`, with `fd_write` as `$w` and a 1-page memory.
fn instance(name: &str, body: &str, limits: Limits) -> ModInstance {
    let wat = format!(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "_start") {body}))"#
    );
    let runtime = Runtime::new();
    let module = runtime
        .compile(name, &wat::parse_str(&wat).expect("valid WAT"))
        .expect("compiles");
    let config = ModConfig::default().with_limits(limits);
    ModInstance::new(&module, &config).expect("instantiates")
}

/// A host without methods that records the mod's log lines as `name: line`.
struct Log(Vec<String>);

impl ModHost for Log {
    fn request(&mut self, _: &str, request: &Request<'_>) -> Outcome {
        NoHost.request("", request)
    }

    fn log(&mut self, mod_name: &str, line: &str) {
        self.0.push(format!("{mod_name}: {line}"));
    }
}

/// Runs until the mod fails, with `fuel` per run; panics after `max_runs`.
fn run_until_error(instance: &mut ModInstance, fuel: u64, max_runs: usize) -> (ModError, usize) {
    for runs in 1..=max_runs {
        match instance.run(fuel, &mut NoHost) {
            Ok(RunStatus::Yielded) => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(error) => return (error, runs),
        }
    }
    panic!("no error after {max_runs} runs");
}

#[test]
fn invalid_wasm_is_a_load_error() {
    let error = Runtime::new()
        .compile("junk", b"\0asm\x01\0\0\0\x05garbage")
        .unwrap_err();
    assert!(matches!(error.kind, ModErrorKind::InvalidModule { .. }));
    assert!(
        error
            .to_string()
            .starts_with("mod `junk` is not a valid WebAssembly module:"),
        "{error}"
    );
    let error = Runtime::new().compile("text", b"hello").unwrap_err();
    assert!(
        matches!(error.kind, ModErrorKind::InvalidModule { .. }),
        "{error}"
    );
}

#[test]
fn missing_start_and_memory_are_named() {
    let error = compile("lib", r#"(module (memory (export "memory") 1))"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        "mod `lib` exports no `_start` function: build it as a wasm32-wasip1 program \
         (a binary crate with `main`)"
    );
    let error = compile("nomem", r#"(module (func (export "_start")))"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        "mod `nomem` exports no memory named `memory`, which WASI needs"
    );
}

#[test]
fn unknown_imports_are_named() {
    let error = compile(
        "needy",
        r#"(module (import "env" "spawn_thread" (func)) (memory (export "memory") 1) (func (export "_start")))"#,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "mod `needy` imports `env::spawn_thread`, which the host does not provide \
         (mods may import only `wasi_snapshot_preview1` functions)"
    );
    let error = compile(
        "future",
        r#"(module (import "wasi_snapshot_preview1" "fd_mmap" (func)) (memory (export "memory") 1) (func (export "_start")))"#,
    )
    .unwrap_err();
    assert!(
        matches!(error.kind, ModErrorKind::UnknownImport { ref field, .. } if field == "fd_mmap")
    );
}

#[test]
fn an_endless_loop_is_sliced_then_stopped_by_the_activation_cap() {
    let limits = Limits::default().with_max_fuel_per_activation(5_000_000);
    let mut mod_ = instance("spinner", "(loop $l (br $l))", limits);
    let pending = mod_.call("anything", &());
    // Each run returns after its slice: the host keeps control every frame.
    let (error, runs) = run_until_error(&mut mod_, 100_000, 1_000);
    assert!(runs > 10, "stopped after {runs} runs");
    assert_eq!(
        error.to_string(),
        "mod `spinner` used more than 5000000 fuel without waiting for input \
         (an endless loop?); it was stopped"
    );
    let answer = pending.try_result().expect("the pending call completed");
    assert_eq!(answer.unwrap_err().code, ErrorCode::FuelExhausted.code());
    // Later calls fail at once, with the same error.
    let late = mod_
        .call("again", &())
        .try_result()
        .expect("completes at once");
    assert!(late.unwrap_err().message.contains("spinner"));
    assert!(matches!(
        mod_.state(),
        Err(ModError {
            kind: ModErrorKind::FuelExhausted { .. },
            ..
        })
    ));
}

#[test]
fn a_memory_bomb_hits_the_memory_cap() {
    // Grow one page at a time until refused, then trap like an allocator abort.
    let limits = Limits::default().with_max_memory(4 << 20);
    let mut mod_ = instance(
        "bomb",
        "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable",
        limits,
    );
    let (error, _) = run_until_error(&mut mod_, 1_000_000, 100);
    assert_eq!(
        error.to_string(),
        "mod `bomb` ran out of memory: it may use at most 4194304 bytes"
    );
    assert!(mod_.memory_size() <= 4 << 20);
}

#[test]
fn a_stack_overflow_is_reported_as_such() {
    let wat = r#"(module
        (memory (export "memory") 1)
        (func $r (param i32) (result i32) (i32.add (call $r (local.get 0)) (i32.const 1)))
        (func (export "_start") (drop (call $r (i32.const 0)))))"#;
    let runtime = Runtime::new();
    let module = runtime
        .compile("deep", &wat::parse_str(wat).unwrap())
        .unwrap();
    let mut mod_ = ModInstance::new(&module, &ModConfig::default()).unwrap();
    let (error, _) = run_until_error(&mut mod_, 100_000_000, 10);
    assert_eq!(
        error.to_string(),
        "mod `deep` overflowed its call stack (unbounded recursion?)"
    );
}

#[test]
fn a_trap_names_the_trap_and_the_last_stderr_lines() {
    // Write a line to stderr, then divide by zero.
    let mut mod_ = instance(
        "divider",
        r#"(i32.store (i32.const 0) (i32.const 100))
           (i32.store (i32.const 4) (i32.const 13))
           (i64.store (i32.const 100) (i64.const 0x2074756f62612049)) ;; "I about "
           (i32.store (i32.const 108) (i32.const 0x6f742061)) ;; "a to"
           (i32.store8 (i32.const 112) (i32.const 10))
           (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
           (drop (i32.div_u (i32.const 1) (i32.const 0)))"#,
        Limits::default(),
    );
    let mut log = Log(Vec::new());
    let error = mod_.run(1_000_000, &mut log).unwrap_err();
    assert!(matches!(
        error.kind,
        ModErrorKind::Trap {
            code: TrapCode::IntegerDivisionByZero,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "mod `divider` trapped: integer divide by zero (stderr: I about a to)"
    );
    // The line was logged before the crash was reported.
    assert_eq!(log.0, ["divider: I about a to"]);
}

#[test]
fn a_line_longer_than_the_message_cap_is_refused() {
    let limits = Limits::default().with_max_message_size(4096);
    // Write 1000 bytes without a newline, forever.
    let mut mod_ = instance(
        "chatty",
        r#"(i32.store (i32.const 0) (i32.const 100))
           (i32.store (i32.const 4) (i32.const 1000))
           (loop $l (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l))"#,
        limits,
    );
    let (error, _) = run_until_error(&mut mod_, 10_000_000, 10);
    assert_eq!(
        error.to_string(),
        "mod `chatty` wrote a message longer than 4096 bytes on stdout"
    );
}

#[test]
fn exiting_fails_pending_calls_and_later_calls() {
    // `_start` returns at once: the program ends with code 0.
    let mut mod_ = instance("quitter", "", Limits::default());
    let pending = mod_.call("x", &[1]);
    assert_eq!(
        mod_.run(1_000_000, &mut NoHost).unwrap(),
        RunStatus::Exited(0)
    );
    let error = pending.try_result().unwrap().unwrap_err();
    assert_eq!(error.code, ErrorCode::ModUnavailable.code());
    assert_eq!(error.message, "mod `quitter` exited with code 0");
    assert_eq!(
        mod_.run(1_000_000, &mut NoHost).unwrap(),
        RunStatus::Exited(0)
    );
}

#[test]
fn dropping_an_instance_completes_its_calls() {
    let mut mod_ = instance("gone", "(loop $l (br $l))", Limits::default());
    let pending = mod_.call("x", &());
    drop(mod_);
    let error = futures_lite::future::block_on(pending.result()).unwrap_err();
    assert_eq!(error.code, ErrorCode::ModUnavailable.code());
}

#[test]
fn one_bad_mod_does_not_stop_another() {
    let mut bad = instance("bad", "unreachable", Limits::default());
    let mut good = instance(
        "good",
        r#"(loop $l (br_if $l (i32.lt_u (memory.grow (i32.const 0)) (i32.const 0))))"#,
        Limits::default(),
    );
    assert!(bad.run(1_000_000, &mut NoHost).is_err());
    assert_eq!(
        good.run(1_000_000, &mut NoHost).unwrap(),
        RunStatus::Exited(0)
    );
}

#[test]
fn an_out_of_bounds_access_is_a_trap() {
    let mut mod_ = instance(
        "reacher",
        "(drop (i32.load (i32.const 0x7fffffff)))",
        Limits::default(),
    );
    let error = mod_.run(1_000_000, &mut NoHost).unwrap_err();
    assert!(matches!(
        error.kind,
        ModErrorKind::Trap {
            code: TrapCode::MemoryOutOfBounds,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "mod `reacher` trapped: out of bounds memory access"
    );
}

#[test]
fn malformed_json_from_a_mod_is_answered_with_a_parse_error() {
    // The mod writes a broken line, then copies what it reads back to stderr.
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 100) "{oops\n")
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.const 6))
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (i32.store (i32.const 0) (i32.const 200))
            (i32.store (i32.const 4) (i32.const 500))
            (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
            (i32.store (i32.const 4) (i32.load (i32.const 8)))
            (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
    let runtime = Runtime::new();
    let module = runtime
        .compile("garbler", &wat::parse_str(wat).unwrap())
        .unwrap();
    let mut mod_ = ModInstance::new(&module, &ModConfig::default()).unwrap();
    let mut log = Log(Vec::new());
    assert_eq!(mod_.run(1_000_000, &mut log).unwrap(), RunStatus::Exited(0));
    assert_eq!(
        log.0,
        [r#"garbler: {"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#]
    );
}

#[test]
fn a_mod_that_sends_without_reading_is_stopped_before_its_answers_pile_up() {
    // Two bytes of garbage per line, forever, and never a read: every line earns a
    // ~75-byte parse error reply. (The cap on invalid lines in a row is lifted, to
    // reach this one.)
    let limits = Limits::default()
        .with_max_input_buffer(64 << 10)
        .with_max_invalid_messages(u32::MAX);
    let mut mod_ = instance(
        "deaf",
        r#"(i32.store (i32.const 0) (i32.const 100))
           (i32.store (i32.const 4) (i32.const 2))
           (i32.store16 (i32.const 100) (i32.const 0x0a78))
           (loop $l (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l))"#,
        limits,
    );
    let (error, _) = run_until_error(&mut mod_, 100_000_000, 100);
    assert_eq!(
        error.to_string(),
        "mod `deaf` sends without reading the answers: more than 65536 bytes of them are \
         unread; it was stopped"
    );
    assert!(mod_.guest().stdin_pending() <= 64 << 10);
}

/// A mod that reads the host's call, answers it with `answer` (a line), and then copies
/// whatever it reads next to stderr.
fn answers_with(name: &str, answer: &str) -> ModInstance {
    let line = format!("{answer}\n");
    let wat = format!(
        r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 100) "{data}")
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 1000))
            (i32.store (i32.const 4) (i32.const 4096))
            (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.const {len}))
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (loop $l
                (i32.store (i32.const 0) (i32.const 1000))
                (i32.store (i32.const 4) (i32.const 4096))
                (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
                (i32.store (i32.const 4) (i32.load (i32.const 8)))
                (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
                (br $l))))"#,
        data = line.replace('"', "\\\"").replace('\n', "\\n"),
        len = line.len(),
    );
    let runtime = Runtime::new();
    let module = runtime
        .compile(name, &wat::parse_str(wat).unwrap())
        .unwrap();
    ModInstance::new(&module, &ModConfig::default()).unwrap()
}

#[test]
fn a_malformed_answer_fails_the_call_and_is_not_answered() {
    let parse_error =
        r#"mumbler: {"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#;
    for (answer, echoed) in [
        (r#"{"jsonrpc":"2.0","id":1,"error":"nope"}"#, None),
        (
            r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"x"}}"#,
            None,
        ),
        (r#"{"jsonrpc":"1.0","id":1,"result":1}"#, None),
        (r#"[{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}]"#, None),
        // Not JSON: the parse error goes back with a null id, as the specification says.
        (r#"{"jsonrpc":"2.0","id":1,"result":}"#, Some(parse_error)),
    ] {
        let mut mod_ = answers_with("mumbler", answer);
        let call = mod_.call("greet", &());
        let mut log = Log(Vec::new());
        // The mod waits for input again: nothing with its id was written back to it.
        assert_eq!(mod_.run(1_000_000, &mut log).unwrap(), RunStatus::Idle);
        assert_eq!(log.0, Vec::from_iter(echoed), "{answer}");
        let error = call.try_result().expect("the call completed").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest.code(), "{answer}");
        assert!(
            error.message.starts_with(
                "mod `mumbler` answered request 1 with something that is not a valid response"
            ),
            "{answer}: {}",
            error.message
        );
    }
}

/// A host without methods that records the notifications the mod sends.
struct Notes(Vec<String>);

impl ModHost for Notes {
    fn request(&mut self, _: &str, request: &Request<'_>) -> Outcome {
        NoHost.request("", request)
    }

    fn notification(
        &mut self,
        _: &str,
        notification: &bevy_wasmi_plugins::protocol::Notification<'_>,
    ) {
        self.0.push(notification.method.to_string());
    }
}

#[test]
fn a_whole_line_over_the_message_cap_in_one_write_is_refused() {
    // One fd_write of two iovecs: a short notification line, then a 2 MiB line with its
    // newline.
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 40)
        (data (i32.const 100) "{\"jsonrpc\":\"2.0\",\"method\":\"hi\"}\n")
        (func (export "_start")
            (memory.fill (i32.const 4096) (i32.const 120) (i32.const 2097152))
            (i32.store8 (i32.const 2101247) (i32.const 10))
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.const 32))
            (i32.store (i32.const 8) (i32.const 4096))
            (i32.store (i32.const 12) (i32.const 2097152))
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16)))
            (loop $l (br $l))))"#;
    let runtime = Runtime::new();
    let module = runtime
        .compile("shouter", &wat::parse_str(wat).unwrap())
        .unwrap();
    let mut mod_ = ModInstance::new(&module, &ModConfig::default()).unwrap();
    let pending = mod_.call("anything", &());
    let mut notes = Notes(Vec::new());
    let error = mod_.run(10_000_000, &mut notes).unwrap_err();
    assert_eq!(
        error.to_string(),
        "mod `shouter` wrote a message longer than 1048576 bytes on stdout"
    );
    assert_eq!(
        pending.try_result().unwrap().unwrap_err().code,
        ErrorCode::MessageTooLarge.code()
    );
    // The line before it in the same write was still served.
    assert_eq!(notes.0, ["hi"]);
}

#[test]
fn a_trap_after_a_refused_growth_is_not_out_of_memory() {
    // The growth is refused, the mod carries on and waits for input, and traps on it.
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start")
            (drop (memory.grow (i32.const 1000)))
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.const 100))
            (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
            unreachable))"#;
    let runtime = Runtime::new();
    let module = runtime
        .compile("frugal", &wat::parse_str(wat).unwrap())
        .unwrap();
    let config = ModConfig::default().with_limits(Limits::default().with_max_memory(4 << 20));
    let mut mod_ = ModInstance::new(&module, &config).unwrap();
    assert_eq!(mod_.run(1_000_000, &mut NoHost).unwrap(), RunStatus::Idle);
    let pending = mod_.call("anything", &());
    let error = mod_.run(1_000_000, &mut NoHost).unwrap_err();
    assert!(
        matches!(
            error.kind,
            ModErrorKind::Trap {
                code: TrapCode::UnreachableCodeReached,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "mod `frugal` trapped: wasm `unreachable` instruction executed"
    );
    let answer = pending.try_result().unwrap().unwrap_err();
    assert_eq!(answer.code, ErrorCode::ModCrashed.code());

    // A trap of another kind right after a refused growth is not the allocator's abort.
    let mut mod_ = instance(
        "divider",
        "(drop (memory.grow (i32.const 1000))) (drop (i32.div_u (i32.const 1) (i32.const 0)))",
        Limits::default().with_max_memory(4 << 20),
    );
    let error = mod_.run(1_000_000, &mut NoHost).unwrap_err();
    assert_eq!(
        error.to_string(),
        "mod `divider` trapped: integer divide by zero"
    );
    assert_eq!(error.error_code(), ErrorCode::ModCrashed);
}

#[test]
fn bulk_memory_work_costs_a_unit_of_fuel_per_8_bytes() {
    // `memory.fill` and `memory.copy` of 64 KiB, and growing by one 64 KiB page, against
    // the same module doing nothing: each costs 65 536 / 8 = 8 192 fuel (wasmi's
    // default is 64 bytes a unit, which let a memory bomb's slice run for milliseconds).
    let fuel_of = |name: &str, body: &str| {
        let wat =
            format!(r#"(module (memory (export "memory") 2) (func (export "_start") {body}))"#);
        let runtime = Runtime::new();
        let module = runtime
            .compile(name, &wat::parse_str(&wat).unwrap())
            .unwrap();
        let mut guest = Guest::new(&module, &ModConfig::default()).unwrap();
        assert_eq!(guest.resume(10_000_000).unwrap(), GuestStatus::Exited(0));
        guest.total_fuel()
    };
    let nothing = fuel_of(
        "nothing",
        "(memory.fill (i32.const 0) (i32.const 1) (i32.const 0))",
    );
    for (name, body) in [
        (
            "fill",
            "(memory.fill (i32.const 0) (i32.const 1) (i32.const 65536))",
        ),
        (
            "copy",
            "(memory.copy (i32.const 65536) (i32.const 0) (i32.const 65536))",
        ),
        ("grow", "(drop (memory.grow (i32.const 1)))"),
    ] {
        let extra = fuel_of(name, body) - nothing;
        // Give or take the few instructions around it.
        assert!((8_192 - 16..8_192 + 16).contains(&extra), "{name}: {extra}");
    }
}

#[test]
fn an_endless_start_section_fails_instantiation_after_a_little_fuel() {
    // A wasm `start` function runs in one go while the mod is instantiated: it gets
    // START_SECTION_FUEL, not the activation cap (seconds of work on the game's frame).
    let module = compile(
        "looping_start",
        r#"(module
            (memory (export "memory") 1)
            (func $forever (loop $l (br $l)))
            (start $forever)
            (func (export "_start")))"#,
    )
    .unwrap();
    let error = ModInstance::new(&module, &ModConfig::default()).unwrap_err();
    assert!(
        matches!(error.kind, ModErrorKind::Instantiation { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "mod `looping_start` could not be instantiated: its start section used more than \
             {START_SECTION_FUEL} fuel (it runs at once, while the mod is instantiated; long \
             work belongs in `_start`)"
        )
    );
    // A start section that ends is run as before.
    let module = compile(
        "short_start",
        r#"(module
            (memory (export "memory") 1)
            (global $g (mut i32) (i32.const 0))
            (func $count (loop $l
                (global.set $g (i32.add (global.get $g) (i32.const 1)))
                (br_if $l (i32.lt_u (global.get $g) (i32.const 1000)))))
            (start $count)
            (func (export "_start")))"#,
    )
    .unwrap();
    assert!(ModInstance::new(&module, &ModConfig::default()).is_ok());
}
