//! WASI preview 1 as the guest sees it, through tiny WAT guests on the bytes-only
//! [`Guest`] layer: every answer is checked against what the WASI specification says.

#![allow(clippy::unwrap_used)] // Tests unwrap to fail loudly.

// Under Node (`scripts/web-test.sh`) the same tests run through wasm-bindgen-test.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use bevy_wasmi_plugins::runtime::{
    ClockId, Guest, GuestStatus, Limits, ModConfig, ModErrorKind, Runtime, VirtualClock,
    wasi::{WASI_FUNCTIONS, errno},
};

/// Builds a guest from WAT. `body` is the code of `_start`; `$out` writes
/// `len` bytes at `ptr` to stderr (stdout is framed: a NUL byte where a line starts
/// begins an attachment, so binary results go where no framing is).
fn guest_with(config: &ModConfig, imports: &str, body: &str) -> Guest {
    let wat = format!(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
            {imports}
            (memory (export "memory") 2)
            (func $out (param $ptr i32) (param $len i32)
                (i32.store (i32.const 60000) (local.get $ptr))
                (i32.store (i32.const 60004) (local.get $len))
                (drop (call $fd_write (i32.const 2) (i32.const 60000) (i32.const 1) (i32.const 60008))))
            (func (export "_start") {body}))"#
    );
    let runtime = Runtime::new();
    let module = runtime
        .compile("wat-guest", &wat::parse_str(&wat).expect("valid WAT"))
        .expect("compiles");
    Guest::new(&module, config).expect("instantiates")
}

fn guest(imports: &str, body: &str) -> Guest {
    guest_with(&ModConfig::default(), imports, body)
}

/// Runs to the end and returns what `$out` wrote.
fn run_to_exit(guest: &mut Guest) -> Vec<u8> {
    let status = guest.resume(10_000_000).expect("runs");
    assert_eq!(status, GuestStatus::Exited(0));
    guest.take_stderr()
}

fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn every_preview1_function_links() {
    // A module importing all 46 functions with their preview 1 signatures links.
    let sigs = [
        ("args_get", "i32 i32", "i32"),
        ("args_sizes_get", "i32 i32", "i32"),
        ("environ_get", "i32 i32", "i32"),
        ("environ_sizes_get", "i32 i32", "i32"),
        ("clock_res_get", "i32 i32", "i32"),
        ("clock_time_get", "i32 i64 i32", "i32"),
        ("fd_advise", "i32 i64 i64 i32", "i32"),
        ("fd_allocate", "i32 i64 i64", "i32"),
        ("fd_close", "i32", "i32"),
        ("fd_datasync", "i32", "i32"),
        ("fd_fdstat_get", "i32 i32", "i32"),
        ("fd_fdstat_set_flags", "i32 i32", "i32"),
        ("fd_fdstat_set_rights", "i32 i64 i64", "i32"),
        ("fd_filestat_get", "i32 i32", "i32"),
        ("fd_filestat_set_size", "i32 i64", "i32"),
        ("fd_filestat_set_times", "i32 i64 i64 i32", "i32"),
        ("fd_pread", "i32 i32 i32 i64 i32", "i32"),
        ("fd_prestat_get", "i32 i32", "i32"),
        ("fd_prestat_dir_name", "i32 i32 i32", "i32"),
        ("fd_pwrite", "i32 i32 i32 i64 i32", "i32"),
        ("fd_read", "i32 i32 i32 i32", "i32"),
        ("fd_readdir", "i32 i32 i32 i64 i32", "i32"),
        ("fd_renumber", "i32 i32", "i32"),
        ("fd_seek", "i32 i64 i32 i32", "i32"),
        ("fd_sync", "i32", "i32"),
        ("fd_tell", "i32 i32", "i32"),
        ("fd_write", "i32 i32 i32 i32", "i32"),
        ("path_create_directory", "i32 i32 i32", "i32"),
        ("path_filestat_get", "i32 i32 i32 i32 i32", "i32"),
        (
            "path_filestat_set_times",
            "i32 i32 i32 i32 i64 i64 i32",
            "i32",
        ),
        ("path_link", "i32 i32 i32 i32 i32 i32 i32", "i32"),
        ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32", "i32"),
        ("path_readlink", "i32 i32 i32 i32 i32 i32", "i32"),
        ("path_remove_directory", "i32 i32 i32", "i32"),
        ("path_rename", "i32 i32 i32 i32 i32 i32", "i32"),
        ("path_symlink", "i32 i32 i32 i32 i32", "i32"),
        ("path_unlink_file", "i32 i32 i32", "i32"),
        ("poll_oneoff", "i32 i32 i32 i32", "i32"),
        ("proc_exit", "i32", ""),
        ("proc_raise", "i32", "i32"),
        ("sched_yield", "", "i32"),
        ("random_get", "i32 i32", "i32"),
        ("sock_accept", "i32 i32 i32", "i32"),
        ("sock_recv", "i32 i32 i32 i32 i32 i32", "i32"),
        ("sock_send", "i32 i32 i32 i32 i32", "i32"),
        ("sock_shutdown", "i32 i32", "i32"),
    ];
    assert_eq!(sigs.len(), WASI_FUNCTIONS.len());
    let imports: String = sigs
        .iter()
        .map(|(name, params, results)| {
            assert!(WASI_FUNCTIONS.contains(name), "{name}");
            let results = if results.is_empty() {
                String::new()
            } else {
                format!("(result {results})")
            };
            format!(
                r#"(import "wasi_snapshot_preview1" "{name}" (func (param {params}) {results}))"#
            )
        })
        .collect();
    let wat =
        format!(r#"(module {imports} (memory (export "memory") 1) (func (export "_start")))"#);
    let runtime = Runtime::new();
    let module = runtime
        .compile("all", &wat::parse_str(&wat).unwrap())
        .unwrap();
    let mut guest = Guest::new(&module, &ModConfig::default()).unwrap();
    assert_eq!(guest.resume(1000).unwrap(), GuestStatus::Exited(0));
}

#[test]
fn args_and_environ_are_only_what_the_embedder_set() {
    let config = ModConfig::default()
        .with_args(["--fast", "x y"])
        .with_env("LEVEL", "3");
    let mut g = guest_with(
        &config,
        r#"(import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))"#,
        r#"(drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
           (drop (call $environ_sizes_get (i32.const 8) (i32.const 12)))
           (call $out (i32.const 0) (i32.const 16))
           (drop (call $args_get (i32.const 100) (i32.const 200)))
           (call $out (i32.const 200) (i32.load (i32.const 4)))
           (drop (call $environ_get (i32.const 300) (i32.const 400)))
           (call $out (i32.const 400) (i32.load (i32.const 12)))"#,
    );
    let out = run_to_exit(&mut g);
    let sizes = u32s(&out[..16]);
    assert_eq!(sizes, [3, 21, 1, 8]);
    assert_eq!(&out[16..37], b"wat-guest\0--fast\0x y\0");
    assert_eq!(&out[37..], b"LEVEL=3\0");
}

#[test]
fn clocks_read_the_embedders_clock() {
    let clock = VirtualClock::new(1_700_000_000_000_000_000);
    clock.advance(42);
    let config = ModConfig::default().with_clock(clock);
    let mut g = guest_with(
        &config,
        r#"(import "wasi_snapshot_preview1" "clock_time_get" (func $time (param i32 i64 i32) (result i32)))
           (import "wasi_snapshot_preview1" "clock_res_get" (func $res (param i32 i32) (result i32)))"#,
        r#"(i32.store (i32.const 0) (call $time (i32.const 0) (i64.const 1) (i32.const 8)))
           (i32.store (i32.const 4) (call $time (i32.const 1) (i64.const 1) (i32.const 16)))
           (i32.store (i32.const 24) (call $time (i32.const 2) (i64.const 1) (i32.const 32)))
           (i32.store (i32.const 28) (call $res (i32.const 1) (i32.const 40)))
           (i32.store (i32.const 48) (call $time (i32.const 1) (i64.const 1) (i32.const 70000000)))
           (call $out (i32.const 0) (i32.const 52))"#,
    );
    let out = run_to_exit(&mut g);
    let word = |at: usize| u32::from_le_bytes(out[at..at + 4].try_into().unwrap());
    let long = |at: usize| u64::from_le_bytes(out[at..at + 8].try_into().unwrap());
    assert_eq!((word(0), word(4)), (0, 0));
    assert_eq!(long(8), 1_700_000_000_000_000_042);
    assert_eq!(long(16), 42);
    assert_eq!(
        word(24),
        errno::INVAL as u32,
        "process CPU clock is not offered"
    );
    assert_eq!((word(28), long(40)), (0, 1));
    assert_eq!(word(48), errno::FAULT as u32, "out-of-bounds pointer");
}

#[test]
fn random_get_is_repeatable_with_a_seed_and_varies_without() {
    let run = |config: &ModConfig| {
        let mut g = guest_with(
            config,
            r#"(import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))"#,
            r#"(i32.store (i32.const 0) (call $random (i32.const 16) (i32.const 32)))
               (call $out (i32.const 0) (i32.const 48))"#,
        );
        run_to_exit(&mut g)
    };
    let seeded = ModConfig::default().with_random_seed(7);
    let a = run(&seeded);
    assert_eq!(&a[..4], &[0, 0, 0, 0]);
    assert_ne!(&a[16..48], &[0; 32]);
    assert_eq!(a, run(&seeded));
    assert_ne!(run(&ModConfig::default()), run(&ModConfig::default()));
}

#[test]
fn stdio_descriptors_report_as_the_spec_says() {
    let mut g = guest(
        r#"(import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
           (import "wasi_snapshot_preview1" "fd_readdir" (func $readdir (param i32 i32 i32 i64 i32) (result i32)))"#,
        r#"(i32.store (i32.const 0) (call $fdstat (i32.const 1) (i32.const 100)))
           (i32.store (i32.const 4) (call $fdstat (i32.const 5) (i32.const 200)))
           (i32.store (i32.const 8) (call $prestat (i32.const 3) (i32.const 200)))
           (i32.store (i32.const 12) (call $seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 200)))
           (i32.store (i32.const 16) (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 200)))
           (i32.store (i32.const 20) (call $open (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 200)))
           (i32.store (i32.const 24) (call $accept (i32.const 0) (i32.const 0) (i32.const 200)))
           (i32.store (i32.const 28) (call $close (i32.const 0)))
           (i32.store (i32.const 32) (call $close (i32.const 0)))
           (i32.store (i32.const 36) (call $readdir (i32.const 9) (i32.const 0) (i32.const 0) (i64.const 0) (i32.const 200)))
           (call $out (i32.const 0) (i32.const 40))
           (call $out (i32.const 100) (i32.const 24))"#,
    );
    let out = run_to_exit(&mut g);
    let codes = u32s(&out[..40]);
    let e = |n: i32| n as u32;
    assert_eq!(
        codes,
        [
            0,
            e(errno::BADF),
            e(errno::BADF),
            e(errno::SPIPE),
            e(errno::BADF),
            e(errno::NOTDIR),
            e(errno::NOTSOCK),
            0,
            e(errno::BADF),
            e(errno::BADF),
        ]
    );
    let fdstat = &out[40..];
    assert_eq!(fdstat[0], 2, "character device");
    let rights = u64::from_le_bytes(fdstat[8..16].try_into().unwrap());
    assert_eq!(rights, (1 << 6) | (1 << 27), "fd_write + poll_fd_readwrite");
}

#[test]
fn fd_read_suspends_on_empty_stdin_and_resumes_with_data() {
    // Echo stdin to stdout until end of file.
    let mut g = guest(
        r#"(import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))"#,
        r#"(i32.store (i32.const 0) (i32.const 100))
           (i32.store (i32.const 4) (i32.const 64))
           (block $eof (loop $next
             (br_if $eof (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
             (br_if $eof (i32.eqz (i32.load (i32.const 8))))
             (call $out (i32.const 100) (i32.load (i32.const 8)))
             (br $next)))"#,
    );
    assert_eq!(g.resume(1_000_000).unwrap(), GuestStatus::WaitingInput);
    // Waiting costs nothing: resuming without input returns at once.
    assert_eq!(g.resume(1_000_000).unwrap(), GuestStatus::WaitingInput);
    assert_eq!(g.last_fuel(), 0);
    assert!(!g.is_runnable());

    g.write_stdin(b"hello ");
    g.write_stdin(b"world");
    assert!(g.is_runnable());
    assert_eq!(g.resume(1_000_000).unwrap(), GuestStatus::WaitingInput);
    let out = g.take_stderr();
    assert_eq!(out, b"hello world");

    g.close_stdin();
    assert_eq!(g.resume(1_000_000).unwrap(), GuestStatus::Exited(0));
}

#[test]
fn fuel_slices_pause_and_resume_a_computation() {
    // Sum 0..200_000 and print the result as 8 bytes.
    let mut g = guest(
        "",
        r#"(local $i i64) (local $sum i64)
           (loop $l
             (local.set $sum (i64.add (local.get $sum) (local.get $i)))
             (local.set $i (i64.add (local.get $i) (i64.const 1)))
             (br_if $l (i64.lt_u (local.get $i) (i64.const 200000))))
           (i64.store (i32.const 0) (local.get $sum))
           (call $out (i32.const 0) (i32.const 8))"#,
    );
    let mut slices = 0;
    loop {
        slices += 1;
        match g.resume(10_000).unwrap() {
            GuestStatus::OutOfFuel => assert!((9_000..=10_000).contains(&g.last_fuel())),
            GuestStatus::Exited(0) => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(slices > 10, "only {slices} slices");
    let out = g.take_stderr();
    assert_eq!(
        u64::from_le_bytes(out[..8].try_into().unwrap()),
        199_999 * 200_000 / 2
    );
}

#[test]
fn poll_oneoff_sleeps_until_the_virtual_clock_passes_the_deadline() {
    let clock = VirtualClock::new(0);
    let config = ModConfig::default().with_clock(clock.clone());
    // One relative monotonic clock subscription of 5 ms, userdata 77.
    let mut g = guest_with(
        &config,
        r#"(import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))"#,
        r#"(i64.store (i32.const 0) (i64.const 77))
           (i32.store8 (i32.const 8) (i32.const 0))
           (i32.store (i32.const 16) (i32.const 1))
           (i64.store (i32.const 24) (i64.const 5000000))
           (i32.store (i32.const 1000) (call $poll (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 200)))
           (call $out (i32.const 1000) (i32.const 4))
           (call $out (i32.const 200) (i32.const 4))
           (call $out (i32.const 100) (i32.const 32))"#,
    );
    assert_eq!(
        g.resume(1_000_000).unwrap(),
        GuestStatus::Sleeping {
            clock: ClockId::Monotonic,
            deadline: 5_000_000
        }
    );
    clock.advance(4_000_000);
    assert!(matches!(
        g.resume(1_000_000).unwrap(),
        GuestStatus::Sleeping { .. }
    ));
    clock.advance(1_000_000);
    assert_eq!(g.resume(1_000_000).unwrap(), GuestStatus::Exited(0));
    let out = g.take_stderr();
    assert_eq!(u32s(&out[..8]), [0, 1], "success, one event");
    assert_eq!(u64::from_le_bytes(out[8..16].try_into().unwrap()), 77);
    assert_eq!(out[16 + 10], 0, "clock event");
}

#[test]
fn poll_oneoff_on_stdin_wakes_when_input_arrives() {
    // fd_read subscription on stdin plus a far clock: stdin wins.
    let mut g = guest(
        r#"(import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))"#,
        r#"(i64.store (i32.const 0) (i64.const 1))
           (i32.store8 (i32.const 8) (i32.const 1))
           (i32.store (i32.const 16) (i32.const 0))
           (i64.store (i32.const 48) (i64.const 2))
           (i32.store8 (i32.const 56) (i32.const 0))
           (i32.store (i32.const 64) (i32.const 1))
           (i64.store (i32.const 72) (i64.const 60000000000))
           (drop (call $poll (i32.const 0) (i32.const 200) (i32.const 2) (i32.const 300)))
           (call $out (i32.const 300) (i32.const 4))
           (call $out (i32.const 200) (i32.const 32))"#,
    );
    assert!(matches!(
        g.resume(1_000_000).unwrap(),
        GuestStatus::Sleeping { .. }
    ));
    g.write_stdin(b"abc");
    assert_eq!(g.resume(1_000_000).unwrap(), GuestStatus::Exited(0));
    let out = g.take_stderr();
    assert_eq!(u32s(&out[..4]), [1]);
    let event = &out[4..];
    assert_eq!(u64::from_le_bytes(event[..8].try_into().unwrap()), 1);
    assert_eq!(event[10], 1, "fd_read event");
    assert_eq!(
        u64::from_le_bytes(event[16..24].try_into().unwrap()),
        3,
        "bytes ready"
    );
}

#[test]
fn proc_exit_and_proc_raise_end_the_program() {
    let mut g = guest(
        r#"(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))"#,
        "(call $exit (i32.const 3))",
    );
    assert_eq!(g.resume(1000).unwrap(), GuestStatus::Exited(3));
    assert!(g.is_done());
    // Resuming an ended program tells how it ended again.
    assert_eq!(g.resume(1000).unwrap(), GuestStatus::Exited(3));

    let mut g = guest(
        r#"(import "wasi_snapshot_preview1" "proc_raise" (func $raise (param i32) (result i32)))"#,
        "(drop (call $raise (i32.const 6)))",
    );
    let error = g.resume(1000).unwrap_err();
    assert!(
        matches!(error.kind, ModErrorKind::Signal { signal: 6, .. }),
        "{error}"
    );
    assert_eq!(error.to_string(), "mod `wat-guest` raised signal 6");
    assert_eq!(g.resume(1000).unwrap_err().to_string(), error.to_string());
}

#[test]
fn writes_to_stdin_and_unknown_fds_are_ebadf() {
    let mut g = guest(
        "",
        r#"(i32.store (i32.const 0) (i32.const 100))
           (i32.store (i32.const 4) (i32.const 1))
           (i32.store (i32.const 16) (call $fd_write (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
           (i32.store (i32.const 20) (call $fd_write (i32.const 7) (i32.const 0) (i32.const 1) (i32.const 8)))
           (i32.store (i32.const 24) (call $fd_write (i32.const 1) (i32.const 0) (i32.const 99999999) (i32.const 8)))
           (i32.store (i32.const 28) (call $fd_write (i32.const 1) (i32.const 0x7ffffff0) (i32.const 1) (i32.const 8)))
           (i32.store (i32.const 4) (i32.const 0x10000000))
           (i32.store (i32.const 32) (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
           (call $out (i32.const 16) (i32.const 20))"#,
    );
    let out = run_to_exit(&mut g);
    assert_eq!(
        u32s(&out),
        [8, 8, 28, 21, 21],
        "EBADF, EBADF, EINVAL, EFAULT, EFAULT"
    );
}

#[test]
fn output_budget_stops_a_flood() {
    let limits = Limits::default().with_max_output_per_activation(1 << 16);
    let config = ModConfig::default().with_limits(limits);
    let mut g = guest_with(
        &config,
        "",
        "(loop $l (call $out (i32.const 0) (i32.const 1000)) (br $l))",
    );
    let error = loop {
        match g.resume(1_000_000) {
            Ok(GuestStatus::OutputFull | GuestStatus::OutOfFuel) => {
                drop(g.take_stderr());
            }
            Ok(other) => panic!("{other:?}"),
            Err(error) => break error,
        }
    };
    assert_eq!(
        error.to_string(),
        "mod `wat-guest` wrote more than 65536 bytes of output without waiting for input; it was stopped"
    );
}

#[test]
fn overlapping_iovecs_past_4_gib_are_a_flood_on_every_word_size() {
    // 1024 iovecs, each naming the same 4 MiB + 4 bytes: 2^32 + 4096 in all. In a
    // 32-bit sum that is 4096, under the 16 MiB cap, and 4 GiB would be appended.
    let mut g = guest(
        "",
        r#"(local $i i32)
           (drop (memory.grow (i32.const 64)))
           (block $done (loop $l
               (i32.store (i32.add (i32.const 4259840) (i32.mul (local.get $i) (i32.const 8)))
                          (i32.const 0))
               (i32.store (i32.add (i32.const 4259844) (i32.mul (local.get $i) (i32.const 8)))
                          (i32.const 4194308))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 1024)))))
           (drop (call $fd_write (i32.const 1) (i32.const 4259840) (i32.const 1024) (i32.const 60008)))"#,
    );
    let error = g.resume(10_000_000).unwrap_err();
    assert_eq!(
        error.to_string(),
        "mod `wat-guest` wrote more than 16777216 bytes of output without waiting for input; it was stopped"
    );
    let mut out = Vec::new();
    g.take_stdout(&mut out);
    assert!(out.is_empty(), "{} bytes were appended", out.len());
}

#[test]
fn poll_oneoff_and_iovec_offsets_past_the_address_space_are_efault() {
    // Arrays that start in bounds but whose elements would lie past 2^32: every offset
    // is computed with checked arithmetic, so these are EFAULT (or EINVAL), never a
    // wrapped address or an overflow panic.
    let mut g = guest(
        r#"(import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))"#,
        r#"(i32.store (i32.const 0) (call $poll (i32.const 100) (i32.const -32) (i32.const 2) (i32.const 200)))
           (i32.store (i32.const 4) (call $poll (i32.const -96) (i32.const 100) (i32.const 2) (i32.const 200)))
           (i32.store (i32.const 8) (call $fd_read (i32.const 0) (i32.const -8) (i32.const 2) (i32.const 200)))
           (i32.store (i32.const 12) (call $fd_write (i32.const 1) (i32.const 100) (i32.const 0x20000000) (i32.const 200)))
           (call $out (i32.const 0) (i32.const 16))"#,
    );
    let out = run_to_exit(&mut g);
    assert_eq!(u32s(&out), [21, 21, 21, 28]);
}

#[test]
fn wasi_calls_charge_fuel_for_the_bytes_they_move() {
    // The same program with a small and a large call: the difference in fuel is what
    // the host's work on the extra bytes costs (random bytes: 1 each; written or read
    // bytes: 1 per 8; poll subscriptions: 16 each).
    let fuel_of = |imports: &str, body: &str, stdin: &[u8]| {
        let mut g = guest(imports, body);
        g.write_stdin(stdin);
        g.close_stdin();
        run_to_exit(&mut g);
        g.total_fuel()
    };
    let random = r#"(import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))"#;
    let small = fuel_of(
        random,
        "(drop (call $random (i32.const 0) (i32.const 16)))",
        b"",
    );
    let large = fuel_of(
        random,
        "(drop (call $random (i32.const 0) (i32.const 100016)))",
        b"",
    );
    assert_eq!(large - small, 100_000);

    let small = fuel_of("", "(call $out (i32.const 0) (i32.const 8))", b"");
    let large = fuel_of("", "(call $out (i32.const 0) (i32.const 80008))", b"");
    assert_eq!(large - small, 10_000);

    let read = r#"(import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))"#;
    let body =
        "(i32.store (i32.const 100) (i32.const 1000)) (i32.store (i32.const 104) (i32.const 60000))
                (drop (call $read (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 108)))";
    let small = fuel_of(read, body, &[b'x'; 8]);
    let large = fuel_of(read, body, &[b'x'; 40_008]);
    assert_eq!(large - small, 5_000);

    let poll = r#"(import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))"#;
    let small = fuel_of(
        poll,
        "(drop (call $poll (i32.const 0) (i32.const 60000) (i32.const 1) (i32.const 64000)))",
        b"",
    );
    let large = fuel_of(
        poll,
        "(drop (call $poll (i32.const 0) (i32.const 60000) (i32.const 101) (i32.const 64000)))",
        b"",
    );
    assert_eq!(large - small, 1_600);
}

#[test]
fn pointers_at_the_end_of_the_address_space_are_efault_not_a_host_panic() {
    let mut g = guest_with(
        &ModConfig::default().with_args(["x"]),
        r#"(import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))"#,
        r#"(i32.store (i32.const 0) (call $args_get (i32.const -4) (i32.const 100)))
           (i32.store (i32.const 4) (call $args_get (i32.const 100) (i32.const -2)))
           (i32.store (i32.const 8) (call $poll (i32.const -48) (i32.const 100) (i32.const 1) (i32.const 200)))
           (i32.store (i32.const 12) (call $poll (i32.const 0) (i32.const 100) (i32.const 0x7fffffff) (i32.const 200)))
           (i32.store (i32.const 16) (call $fd_read (i32.const 0) (i32.const -8) (i32.const 1) (i32.const 200)))
           (i32.store (i32.const 20) (call $poll (i32.const -1000) (i32.const 100) (i32.const 1024) (i32.const 200)))
           (call $out (i32.const 0) (i32.const 24))"#,
    );
    let out = run_to_exit(&mut g);
    // 2^31 - 1 subscriptions are over the cap of 1024 (EINVAL) before their pointers are
    // looked at; 1024 of them from 1000 bytes before the end of memory are EFAULT.
    assert_eq!(u32s(&out), [21, 21, 21, 28, 21, 21]);
}

#[test]
fn stdout_frames_end_at_the_newline_after_an_attachment_and_count_against_the_cap() {
    // An attachment holding a `\n`, then its line, written in two pieces cut inside the
    // attachment, then a line; after some input, a header promising more than the cap.
    let limits = Limits::default().with_max_message_size(64);
    let config = ModConfig::default().with_limits(limits);
    let mut g = guest_with(
        &config,
        r#"(import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
           (func $write (param $ptr i32) (param $len i32)
               (i32.store (i32.const 60000) (local.get $ptr))
               (i32.store (i32.const 60004) (local.get $len))
               (drop (call $fd_write (i32.const 1) (i32.const 60000) (i32.const 1) (i32.const 60008))))
           (data (i32.const 1000) "\00\03\00\00\00a\nb{}\nnext\n\00\03\00\00\00x\ny{}\n\00\3d\00\00\00")"#,
        r#"(call $write (i32.const 1000) (i32.const 7))
           (call $write (i32.const 1007) (i32.const 4))
           (call $write (i32.const 1011) (i32.const 5))
           (call $write (i32.const 1016) (i32.const 7))
           (i32.store (i32.const 0) (i32.const 100))
           (i32.store (i32.const 4) (i32.const 1))
           (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
           (call $write (i32.const 1023) (i32.const 4))
           (call $write (i32.const 1027) (i32.const 5))"#,
    );
    assert_eq!(g.resume(1_000_000).unwrap(), GuestStatus::WaitingInput);
    // Two whole frames; the third's attachment is not all there, and its `\n` is data.
    let mut lines = Vec::new();
    g.take_stdout_lines(&mut lines);
    assert_eq!(lines, b"\x00\x03\x00\x00\x00a\nb{}\nnext\n");
    // Its last byte and line; then a header promising 5 + 61 bytes, over the cap of 64
    // before the bytes come.
    g.write_stdin(b"x");
    let error = g.resume(1_000_000).unwrap_err();
    g.take_stdout_lines(&mut lines);
    assert_eq!(lines, b"\x00\x03\x00\x00\x00x\ny{}\n");
    assert!(
        matches!(error.kind, ModErrorKind::MessageTooLarge { limit: 64 }),
        "{error}"
    );
}

#[test]
fn poll_oneoff_takes_at_most_1024_subscriptions() {
    // Zeroed subscriptions: realtime clocks with a timeout of 0, all ready at once.
    let mut g = guest(
        r#"(import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))"#,
        r#"(i32.store (i32.const 0) (call $poll (i32.const 1000) (i32.const 64000) (i32.const 1024) (i32.const 4)))
           (call $out (i32.const 0) (i32.const 8))"#,
    );
    // Success, with 1024 events; EINVAL (28) for one more.
    assert_eq!(u32s(&run_to_exit(&mut g)), [0, 1024]);
    let mut g = guest(
        r#"(import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))"#,
        r#"(i32.store (i32.const 0) (call $poll (i32.const 1000) (i32.const 64000) (i32.const 1025) (i32.const 4)))
           (call $out (i32.const 0) (i32.const 4))"#,
    );
    assert_eq!(u32s(&run_to_exit(&mut g)), [28]);
}
