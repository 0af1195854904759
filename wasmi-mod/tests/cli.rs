//! `wasmi-mod` end to end: the built binary on committed PDK mods and on WASI command
//! programs written in WAT.

#![allow(clippy::unwrap_used)] // Tests unwrap to fail loudly.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../bevy_wasmi_plugins/tests/mods/{name}.wasm"))
}

fn wasmi_mod(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmi-mod"))
        .args(args)
        .env("SECRET_HOST_VARIABLE", "must not leak")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

/// A `.wasm` file in a temporary folder of its own, removed when the test ends.
struct TempWasm(PathBuf);

impl std::ops::Deref for TempWasm {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempWasm {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Writes a WAT program to `<temp>/wasmi-mod-cli-<pid>-<name>/<name>.wasm`.
fn wat_file(name: &str, wat: &str) -> TempWasm {
    let dir = std::env::temp_dir().join(format!("wasmi-mod-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    TempWasm(path)
}

/// A command program: prints its arguments and environment (NUL-separated), copies
/// stdin to stdout, writes "bye" to stderr and exits with code 3.
const CAT: &str = r#"(module
    (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "environ_get" (func $env (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (data (i32.const 900) "bye\n")
    (func $out (param $fd i32) (param $ptr i32) (param $len i32)
        (i32.store (i32.const 0) (local.get $ptr))
        (i32.store (i32.const 4) (local.get $len))
        (drop (call $write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
    (func (export "_start")
        (drop (call $args_sizes (i32.const 16) (i32.const 20)))
        (drop (call $args (i32.const 100) (i32.const 1000)))
        (call $out (i32.const 1) (i32.const 1000) (i32.load (i32.const 20)))
        (drop (call $env_sizes (i32.const 16) (i32.const 20)))
        (drop (call $env (i32.const 100) (i32.const 2000)))
        (call $out (i32.const 1) (i32.const 2000) (i32.load (i32.const 20)))
        (i32.store (i32.const 24) (i32.const 4000))
        (i32.store (i32.const 28) (i32.const 4096))
        (block $eof (loop $next
            (br_if $eof (call $read (i32.const 0) (i32.const 24) (i32.const 1) (i32.const 32)))
            (br_if $eof (i32.eqz (i32.load (i32.const 32))))
            (call $out (i32.const 1) (i32.const 4000) (i32.load (i32.const 32)))
            (br $next)))
        (call $out (i32.const 2) (i32.const 900) (i32.const 4))
        (call $exit (i32.const 3))))"#;

#[test]
fn run_streams_stdio_passes_args_and_only_the_given_env_and_returns_the_exit_code() {
    let file = wat_file("cat", CAT);
    let file = file.to_str().unwrap();
    let out = wasmi_mod(
        &["run", file, "--env", "MODE=fast", "--", "one", "two words"],
        b"line 1\nline 2\n",
    );
    assert_eq!(out.status.code(), Some(3));
    let expected = format!("{file}\0one\0two words\0MODE=fast\0line 1\nline 2\n");
    assert_eq!(text(&out.stdout), expected);
    assert_eq!(text(&out.stderr), "bye\n");
    assert!(!text(&out.stdout).contains("SECRET_HOST_VARIABLE"));
}

#[test]
fn run_reports_a_trap_with_status_134() {
    let file = wat_file(
        "trap",
        r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#,
    );
    let out = wasmi_mod(&["run", file.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(134));
    assert_eq!(
        text(&out.stderr),
        "wasmi-mod: mod `trap` trapped: wasm `unreachable` instruction executed\n"
    );
}

#[test]
fn run_stops_an_endless_loop_at_the_fuel_limit() {
    let file = wat_file(
        "spin",
        r#"(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))"#,
    );
    let file = file.to_str().unwrap();
    let out = wasmi_mod(&["run", file, "--fuel", "1000000"], b"");
    assert_eq!(out.status.code(), Some(152));
    assert_eq!(
        text(&out.stderr),
        format!("wasmi-mod: `{file}` ran out of fuel: it used all 1000000 units of --fuel\n")
    );
}

#[test]
fn run_stops_a_memory_bomb_at_the_memory_limit() {
    let file = wat_file(
        "bomb",
        r#"(module (memory (export "memory") 1)
            (func (export "_start")
              (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
              unreachable))"#,
    );
    let out = wasmi_mod(
        &["run", file.to_str().unwrap(), "--max-memory", "2097152"],
        b"",
    );
    assert_eq!(out.status.code(), Some(137));
    assert_eq!(
        text(&out.stderr),
        "wasmi-mod: mod `bomb` ran out of memory: it may use at most 2097152 bytes\n"
    );
}

#[test]
fn run_a_pdk_mod_as_a_plain_program() {
    // A PDK mod answers JSON-RPC lines on stdin and exits at end of input.
    let out = wasmi_mod(
        &["run", fixture("echo").to_str().unwrap()],
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":[2,3]}\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":5}\n"
    );
}

#[test]
fn call_prints_the_result_on_one_line() {
    let echo = fixture("echo");
    let out = wasmi_mod(
        &["call", echo.to_str().unwrap(), "greet", r#"{"name":"CLI"}"#],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "{\"greeting\":\"Hello, CLI!\"}\n");

    let out = wasmi_mod(&["call", echo.to_str().unwrap(), "count"], b"");
    assert_eq!(text(&out.stdout), "1\n");
}

#[test]
fn call_prints_the_error_object_and_exits_1() {
    let echo = fixture("echo");
    let out = wasmi_mod(&["call", echo.to_str().unwrap(), "nope", "[]"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "{\"code\":-32601,\"message\":\"Method not found: nope\"}\n"
    );

    let out = wasmi_mod(&["call", echo.to_str().unwrap(), "panic"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("{\"code\":-32000,\"message\":\"mod `echo` panicked: "));
    assert!(
        text(&out.stderr).contains("panic on purpose"),
        "the mod's stderr is passed on"
    );

    let out = wasmi_mod(&["call", echo.to_str().unwrap(), "add", "[1,"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("wasmi-mod: PARAMS_JSON is not valid JSON"));
}

#[test]
fn host_calls_fail_unless_echo_host_is_given() {
    let echo = fixture("echo");
    let relay = r#"{"method":"game.anything","params":{"x":[1,2]}}"#;
    let out = wasmi_mod(&["call", echo.to_str().unwrap(), "relay", relay], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "{\"code\":-32601,\"message\":\"Method not found: game.anything\"}\n"
    );
    let out = wasmi_mod(
        &[
            "call",
            echo.to_str().unwrap(),
            "relay",
            relay,
            "--echo-host",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "{\"x\":[1,2]}\n");
}

#[test]
fn call_stops_a_runaway_mod_at_the_fuel_limit() {
    let echo = fixture("echo");
    let out = wasmi_mod(
        &[
            "call",
            echo.to_str().unwrap(),
            "loop_forever",
            "--fuel",
            "20000000",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "{\"code\":-32002,\"message\":\"mod `echo` used more than 20000000 fuel without waiting \
         for input (an endless loop?); it was stopped\"}\n"
    );
}

/// A mod that never answers: it sends the host a request, reads the answer, and sends
/// another, forever (each exchange ends an activation, so no activation cap stops it).
const CHATTER: &str = r#"(module
    (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 1000) "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"more\"}\n")
    (func (export "_start")
        (i32.store (i32.const 0) (i32.const 1000))
        (i32.store (i32.const 4) (i32.const 41))
        (i32.store (i32.const 16) (i32.const 2000))
        (i32.store (i32.const 20) (i32.const 4096))
        (loop $l
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (drop (call $read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 8)))
            (br $l))))"#;

#[test]
fn call_ends_at_its_fuel_deadline_for_a_mod_that_never_answers() {
    let file = wat_file("chatter", CHATTER);
    let file = file.to_str().unwrap();
    let out = wasmi_mod(&["call", file, "anything", "--fuel", "1000000"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "{\"code\":-32007,\"message\":\"mod `chatter` did not answer call 1 within its deadline \
         of 1000000 fuel\"}\n"
    );
}

#[test]
fn call_ends_at_its_wall_time_deadline() {
    let file = wat_file("chatter2", &CHATTER.replace("chatter", "chatter2"));
    let file = file.to_str().unwrap();
    let out = wasmi_mod(&["call", file, "anything", "--timeout", "0.2"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "{\"code\":-32007,\"message\":\"mod `chatter2` did not answer `anything` within \
         --timeout 0.2 s\"}\n"
    );
}

#[test]
fn call_stops_a_mod_that_answers_everything_with_garbage() {
    // Every line it writes is garbage, and it reads the host's parse error each time.
    let wat = CHATTER
        .replace(
            r#"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"more\"}\n"#,
            "garbage\\n",
        )
        .replace("(i32.const 41)", "(i32.const 8)");
    let file = wat_file("garbler", &wat);
    let file = file.to_str().unwrap();
    let out = wasmi_mod(&["call", file, "anything"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "{\"code\":-32000,\"message\":\"mod `garbler` sent 101 invalid messages in a row (the \
         last: `garbage`); it was stopped\"}\n"
    );
}

#[test]
fn types_writes_the_committed_rust_for_the_committed_schema() {
    // `tests/fixtures/schema.json` is what the host's `registry.schema` answers for a
    // small game (checked by the Bevy layer's tests); `schema.rs` beside it is compiled
    // and used by the PDK's tests, on the values that host writes (`values.json`).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let schema = dir.join("schema.json");
    let out = wasmi_mod(&["types", schema.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let expected = std::fs::read_to_string(dir.join("schema.rs")).unwrap();
    assert_eq!(text(&out.stdout), expected);
    // From stdin too; a file that is not a schema is an error naming it.
    let stdin = std::fs::read(&schema).unwrap();
    let out = wasmi_mod(&["types", "-"], &stdin);
    assert!(text(&out.stdout).contains("impl Component for Velocity"));
    let out = wasmi_mod(&["types", "-"], b"[1, 2]");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("is not a registry.schema answer"),
        "{}",
        text(&out.stderr)
    );
}
