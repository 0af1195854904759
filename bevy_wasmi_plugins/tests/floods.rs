//! Mods that send too much, too fast, or nonsense: floods of notifications and lines,
//! garbage answered with garbage, batches past the cap. Each message costs the mod
//! fuel, the host serves a capped number per run (the rest waits, nothing is lost), and
//! a mod that keeps sending invalid lines is stopped.

#![allow(clippy::unwrap_used)] // Tests unwrap to fail loudly.

// Under Node (`scripts/web-test.sh`) the same tests run through wasm-bindgen-test.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use bevy_wasmi_plugins::protocol::{ErrorCode, Outcome, Request};
use bevy_wasmi_plugins::runtime::{
    Limits, ModConfig, ModHost, ModInstance, NoHost, RunStatus, Runtime,
};

/// A host that counts the notifications it gets.
#[derive(Default)]
struct Counter(usize);

impl ModHost for Counter {
    fn request(&mut self, _: &str, request: &Request<'_>) -> Outcome {
        NoHost.request("", request)
    }

    fn notification(&mut self, _: &str, _: &bevy_wasmi_plugins::protocol::Notification<'_>) {
        self.0 += 1;
    }
}

/// `_start` writes the line at 200 (`len` bytes) `times` times, reading stdin after each
/// write when `read` is set (so each line is a new activation), then waits for input.
fn writer(name: &str, line: &str, times: u32, read: bool, limits: Limits) -> ModInstance {
    let wat = format!(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 200) "{line}\n")
            (func (export "_start") (local $i i32)
                (i32.store (i32.const 0) (i32.const 200))
                (i32.store (i32.const 4) (i32.const {len}))
                (i32.store (i32.const 16) (i32.const 1000))
                (i32.store (i32.const 20) (i32.const 4096))
                (block $done (loop $l
                    (br_if $done (i32.ge_u (local.get $i) (i32.const {times})))
                    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
                    {read}
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $l)))
                (loop $idle
                    (drop (call $r (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 8)))
                    (br $idle))))"#,
        line = line.replace('"', "\\\""),
        len = line.len() + 1,
        read = if read {
            "(drop (call $r (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 8)))"
        } else {
            ""
        },
    );
    let runtime = Runtime::new();
    let module = runtime
        .compile(name, &wat::parse_str(&wat).expect("valid WAT"))
        .expect("compiles");
    ModInstance::new(&module, &ModConfig::default().with_limits(limits)).expect("instantiates")
}

#[test]
fn a_mod_that_answers_every_error_with_garbage_is_stopped() {
    // Each garbage line earns a parse error, which the mod reads, and answers with
    // more garbage: an exchange that ends each activation, so the fuel cap per
    // activation never stops it. The cap on invalid lines in a row does.
    let mut mod_ = writer("pingpong", "garbage", u32::MAX, true, Limits::default());
    let pending = mod_.call("anything", &());
    // Stopped within its first run.
    let error = mod_.run(10_000_000, &mut NoHost).unwrap_err();
    assert_eq!(
        error.to_string(),
        "mod `pingpong` sent 101 invalid messages in a row (the last: `garbage`); it was stopped"
    );
    let answer = pending.try_result().expect("the pending call completed");
    assert_eq!(answer.unwrap_err().code, ErrorCode::ModCrashed.code());
}

#[test]
fn valid_messages_between_invalid_ones_reset_the_count() {
    // 99 garbage lines, a notification, 99 more, and so on: never 101 in a row.
    let line = r#"{"jsonrpc":"2.0","method":"n"}"#;
    let limits = Limits::default().with_max_invalid_messages(3);
    let mut garbled = writer("garbled", "x", 3, false, limits.clone());
    assert_eq!(
        garbled.run(10_000_000, &mut NoHost).unwrap(),
        RunStatus::Idle
    );
    let mut mixed = writer("mixed", line, 5, false, limits);
    let mut counter = Counter::default();
    assert_eq!(
        mixed.run(10_000_000, &mut counter).unwrap(),
        RunStatus::Idle
    );
    assert_eq!(counter.0, 5);
    let mut over = writer(
        "over",
        "x",
        4,
        false,
        Limits::default().with_max_invalid_messages(3),
    );
    let error = over.run(10_000_000, &mut NoHost).unwrap_err();
    assert_eq!(
        error.to_string(),
        "mod `over` sent 4 invalid messages in a row (the last: `x`); it was stopped"
    );
}

#[test]
fn every_message_costs_the_mod_fuel() {
    let line = r#"{"jsonrpc":"2.0","method":"n"}"#;
    let cheap = Limits::default().with_fuel_per_message(0);
    let dear = Limits::default().with_fuel_per_message(5_000);
    let mut counter = Counter::default();
    let mut free = writer("free", line, 100, false, cheap);
    free.run(100_000_000, &mut counter).unwrap();
    let mut paid = writer("paid", line, 100, false, dear);
    paid.run(100_000_000, &mut counter).unwrap();
    assert_eq!(counter.0, 200);
    assert_eq!(paid.total_fuel() - free.total_fuel(), 100 * 5_000);
}

#[test]
fn a_notification_flood_is_served_over_several_runs_and_nothing_is_lost() {
    // 3,000 notifications written without a pause; at most 1,000 are served per run,
    // and the mod is not resumed until the rest are.
    let line = r#"{"jsonrpc":"2.0","method":"n"}"#;
    let limits = Limits::default().with_max_messages_per_run(1_000);
    let mut flood = writer("flood", line, 3_000, false, limits);
    let mut counter = Counter::default();
    let mut served = Vec::new();
    let mut runs = 0;
    loop {
        runs += 1;
        let status = flood.run(100_000_000, &mut counter).unwrap();
        served.push(counter.0);
        if status == RunStatus::Idle {
            break;
        }
        assert_eq!(status, RunStatus::Yielded);
        assert!(runs < 10, "{served:?}");
    }
    assert_eq!(counter.0, 3_000);
    assert!(
        served.windows(2).all(|w| w[1] - w[0] <= 1_000),
        "{served:?}"
    );
    assert!(served[0] <= 1_000 && runs >= 3, "{served:?}");
}

#[test]
fn past_the_hosts_deadline_a_run_stops_between_the_requests_of_one_burst() {
    // 100 requests written before the mod waits (a pipelined flood), and a host whose
    // deadline passes after every 10th: each run serves 10 of them and yields, the
    // next run serves the next 10, and none is lost. (Before, one run served all 100,
    // however long the host took: the Bevy layer's frame budget did not hold.)
    #[derive(Default)]
    struct Deadline {
        served: usize,
        pause_at: usize,
    }
    impl ModHost for Deadline {
        fn request(&mut self, _: &str, request: &Request<'_>) -> Outcome {
            self.served += 1;
            NoHost.request("", request)
        }
        fn should_pause(&mut self) -> bool {
            self.served >= self.pause_at
        }
    }
    let line = r#"{"jsonrpc":"2.0","id":1,"method":"m"}"#;
    let mut flood = writer("pipeliner", line, 100, false, Limits::default());
    let mut host = Deadline::default();
    let mut runs = 0;
    loop {
        host.pause_at = host.served + 10;
        let status = flood.run(100_000_000, &mut host).unwrap();
        runs += 1;
        assert!(
            host.served <= host.pause_at,
            "run {runs} served {}",
            host.served
        );
        if status == RunStatus::Idle {
            break;
        }
        assert_eq!(status, RunStatus::Yielded);
        assert!(runs < 100);
    }
    assert_eq!(host.served, 100);
    assert!(runs >= 10, "{runs} runs");
}

#[test]
fn messages_left_at_the_hosts_deadline_keep_the_mod_runnable_until_served() {
    // A mod writes 10 notifications and then waits on an empty stdin; the host's
    // deadline has always passed (a slow frame, as in a browser), so each run serves
    // one message. The mod itself has nothing to run, but its unserved lines are work:
    // `is_runnable` must say so after every `Yielded`, or a scheduler that runs only
    // runnable mods never serves the rest. (This left the `modding` example's greeter
    // answering nothing in the browser: its answer came after its notification.)
    struct Late(Counter);
    impl ModHost for Late {
        fn request(&mut self, name: &str, request: &Request<'_>) -> Outcome {
            self.0.request(name, request)
        }
        fn notification(&mut self, name: &str, n: &bevy_wasmi_plugins::protocol::Notification<'_>) {
            self.0.notification(name, n);
        }
        fn should_pause(&mut self) -> bool {
            true
        }
    }
    let line = r#"{"jsonrpc":"2.0","method":"n"}"#;
    let mut mod_ = writer("late", line, 10, false, Limits::default());
    let mut host = Late(Counter::default());
    let mut runs = 0;
    while mod_.is_runnable() {
        let status = mod_.run(100_000_000, &mut host).unwrap();
        runs += 1;
        assert_eq!(host.0.0, runs.min(10), "one message per run");
        if status == RunStatus::Idle {
            break;
        }
        assert_eq!(status, RunStatus::Yielded);
        assert!(
            mod_.is_runnable(),
            "run {runs} yielded with its work left unseen"
        );
        assert!(runs < 100);
    }
    assert_eq!(host.0.0, 10, "every notification served");
    assert!(!mod_.is_runnable(), "idle once all is served");
}

#[test]
fn fuel_a_slice_cannot_cover_is_owed_and_paid_from_the_next_one() {
    // 10 messages at 1,000 fuel each, with slices of 2,000: the mod runs again only
    // once its debt is paid, and no run uses more than its slice.
    let line = r#"{"jsonrpc":"2.0","method":"n"}"#;
    let mut mod_ = writer("debtor", line, 10, false, Limits::default());
    let mut counter = Counter::default();
    let mut runs = 0;
    while mod_.run(2_000, &mut counter).unwrap() != RunStatus::Idle {
        assert!(mod_.last_fuel() <= 2_000);
        // The debt is the work left: the mod must still count as runnable, or a
        // scheduler that runs only runnable mods would leave it `Yielded` for ever.
        assert!(mod_.is_runnable(), "a mod in debt is not runnable");
        runs += 1;
        assert!(runs < 1_000);
    }
    assert_eq!(counter.0, 10);
    assert!(mod_.total_fuel() >= 10_000);
}

#[test]
fn a_batch_gets_at_most_one_message_of_answers_and_the_rest_is_not_run() {
    // Four requests whose answers are 400 KB each, under a 1 MiB cap: two are run and
    // answered, the third's answer would pass the cap and is refused, the fourth is
    // refused without being run.
    #[derive(Default)]
    struct Big(usize);
    impl ModHost for Big {
        fn request(&mut self, _: &str, _: &Request<'_>) -> Outcome {
            self.0 += 1;
            bevy_wasmi_plugins::protocol::to_raw(&"x".repeat(400_000))
        }
    }
    let request = |id: u32| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"big"}}"#);
    let batch = format!("[{}]", (1..=4).map(request).collect::<Vec<_>>().join(","));
    let limits = Limits::default().with_max_message_size(1 << 20);
    let mut mod_ = writer("batcher", &batch, 1, false, limits);
    let mut host = Big::default();
    mod_.run(100_000_000, &mut host).unwrap();
    assert_eq!(host.0, 3);
    // A batch costs each of its messages.
    assert!(mod_.total_fuel() >= 4_000);
}

#[test]
fn after_an_answer_too_long_for_the_cap_the_rest_of_the_batch_is_not_run() {
    // A host method whose answer passed the cap (a query over many entities, say) did
    // a message's worth of work: the requests after it in the batch are refused unrun.
    // The mod copies what it reads (the batch's answers) to stderr.
    #[derive(Default)]
    struct TooLong {
        calls: usize,
        read: String,
    }
    impl ModHost for TooLong {
        fn request(&mut self, _: &str, _: &Request<'_>) -> Outcome {
            self.calls += 1;
            Err(bevy_wasmi_plugins::protocol::ResponseError::new(
                ErrorCode::MessageTooLarge,
                "the answer is too long",
            ))
        }
        fn log(&mut self, _: &str, line: &str) {
            self.read.push_str(line);
        }
    }
    let request = |id: u32| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"query"}}"#);
    let batch = format!("[{}]", (1..=100).map(request).collect::<Vec<_>>().join(","));
    let wat = format!(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 2)
            (data (i32.const 200) "{line}\n")
            (func (export "_start")
                (i32.store (i32.const 0) (i32.const 200))
                (i32.store (i32.const 4) (i32.const {len}))
                (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
                (i32.store (i32.const 16) (i32.const 65536))
                (i32.store (i32.const 20) (i32.const 65536))
                (loop $copy
                    (drop (call $r (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
                    (i32.store (i32.const 32) (i32.const 65536))
                    (i32.store (i32.const 36) (i32.load (i32.const 24)))
                    (drop (call $w (i32.const 2) (i32.const 32) (i32.const 1) (i32.const 8)))
                    (br $copy))))"#,
        line = batch.replace('"', "\\\""),
        len = batch.len() + 1,
    );
    let module = Runtime::new()
        .compile("querier", &wat::parse_str(&wat).unwrap())
        .unwrap();
    let mut mod_ = ModInstance::new(&module, &ModConfig::default()).unwrap();
    let mut host = TooLong::default();
    mod_.run(100_000_000, &mut host).unwrap();
    mod_.run(100_000_000, &mut host).unwrap();
    assert_eq!(host.calls, 1);
    let answers: Vec<serde_json::Value> = serde_json::from_str(&host.read).unwrap();
    assert_eq!(answers.len(), 100);
    assert_eq!(answers[0]["error"]["message"], "the answer is too long");
    assert_eq!(
        answers[1]["error"]["message"],
        "an earlier request of this batch was refused for passing the message cap of mod \
         `querier` (1048576 bytes); this request was not run"
    );
    assert!(
        answers.iter().all(|a| a["error"]["code"] == -32004),
        "{answers:?}"
    );
}

/// A host that records the attachments of requests and answers `give` with one.
#[derive(Default)]
struct Attachments {
    /// Each request: its method and the attachment it came with, if any.
    got: Vec<(String, Option<Vec<u8>>)>,
    warnings: Vec<String>,
    notes: usize,
    /// What the mod echoed from its stdin to its stderr.
    echoed: Vec<String>,
}

impl ModHost for Attachments {
    fn request(&mut self, _: &str, request: &Request<'_>) -> Outcome {
        self.got.push((request.method.to_string(), None));
        bevy_wasmi_plugins::protocol::to_raw(&0)
    }

    fn request_with_attachment(
        &mut self,
        _: &str,
        request: &Request<'_>,
        attachment: Option<&[u8]>,
        answer: &mut Option<Vec<u8>>,
    ) -> Outcome {
        self.got
            .push((request.method.to_string(), attachment.map(<[u8]>::to_vec)));
        if request.method == "give" {
            *answer = Some(b"\x00\n".to_vec());
        }
        bevy_wasmi_plugins::protocol::to_raw(&1)
    }

    fn notification(&mut self, _: &str, _: &bevy_wasmi_plugins::protocol::Notification<'_>) {
        self.notes += 1;
    }

    fn protocol_warning(&mut self, _: &str, warning: &str) {
        self.warnings.push(warning.to_owned());
    }

    fn log(&mut self, _: &str, line: &str) {
        self.echoed.push(line.to_owned());
    }
}

#[test]
fn attachments_go_with_a_request_alone_on_its_line_and_come_back_with_its_answer() {
    // One write of five frames: a request with an attachment holding a `\n`; a
    // notification and a batch with one each (dropped, with a warning); a request the
    // host answers with an attachment; the same in a batch (no attachment back). Then
    // stdin is copied to stderr.
    let frames = [
        r#"\00\03\00\00\00ab\n{"jsonrpc":"2.0","id":1,"method":"take"}\n"#,
        r#"\00\02\00\00\00zz{"jsonrpc":"2.0","method":"note"}\n"#,
        r#"\00\01\00\00\00q[{"jsonrpc":"2.0","id":2,"method":"take"}]\n"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"give"}\n"#,
        r#"[{"jsonrpc":"2.0","id":4,"method":"give"}]\n"#,
    ]
    .concat();
    // Each escape is one byte: `\n` two characters, `\XX` three.
    let newlines = frames.matches("\\n").count();
    let len = frames.len() - newlines - 2 * (frames.matches('\\').count() - newlines);
    let wat = format!(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 200) "{frames}")
            (func (export "_start")
                (i32.store (i32.const 0) (i32.const 200))
                (i32.store (i32.const 4) (i32.const {len}))
                (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
                (i32.store (i32.const 16) (i32.const 4096))
                (i32.store (i32.const 20) (i32.const 4096))
                (loop $copy
                    (drop (call $r (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
                    (i32.store (i32.const 32) (i32.const 4096))
                    (i32.store (i32.const 36) (i32.load (i32.const 24)))
                    (drop (call $w (i32.const 2) (i32.const 32) (i32.const 1) (i32.const 8)))
                    (br $copy))))"#,
        frames = frames.replace('"', "\\\""),
    );
    let runtime = Runtime::new();
    let module = runtime
        .compile("attach", &wat::parse_str(&wat).expect("valid WAT"))
        .expect("compiles");
    let mut mod_ = ModInstance::new(&module, &ModConfig::default()).expect("instantiates");
    let mut host = Attachments::default();
    for _ in 0..3 {
        mod_.run(10_000_000, &mut host).unwrap();
    }
    let got: Vec<(&str, Option<&[u8]>)> = host
        .got
        .iter()
        .map(|(method, bytes)| (method.as_str(), bytes.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("take", Some(&b"ab\n"[..])),
            ("take", None),
            ("give", None),
            ("give", None)
        ]
    );
    assert_eq!(
        host.notes, 1,
        "the notification is served without its attachment"
    );
    assert_eq!(host.warnings.len(), 2, "{:?}", host.warnings);
    assert!(
        host.warnings[0].contains("an attachment came with a notification"),
        "{:?}",
        host.warnings
    );
    assert!(
        host.warnings[1].contains("with a batch"),
        "{:?}",
        host.warnings
    );
    // What the mod read: the answers in order; the one to `give` alone on its line
    // with its attachment (a NUL, its length, then `\0\n`) in front of it.
    let read = host.echoed.join("\n");
    assert_eq!(
        read,
        [
            r#"{"jsonrpc":"2.0","id":1,"result":1}"#,
            r#"[{"jsonrpc":"2.0","id":2,"result":0}]"#,
            "\0\u{2}\0\0\0\0",
            r#"{"jsonrpc":"2.0","id":3,"result":1}"#,
            r#"[{"jsonrpc":"2.0","id":4,"result":0}]"#,
        ]
        .join("\n")
    );
}

/// A host that counts the log lines and warnings it gets.
#[derive(Default)]
struct LogCounter {
    lines: usize,
    warnings: Vec<String>,
}

impl ModHost for LogCounter {
    fn request(&mut self, _: &str, request: &Request<'_>) -> Outcome {
        NoHost.request("", request)
    }

    fn log(&mut self, _: &str, _: &str) {
        self.lines += 1;
    }

    fn protocol_warning(&mut self, mod_name: &str, warning: &str) {
        self.warnings.push(format!("{mod_name}: {warning}"));
    }
}

/// `_start` writes `newlines` line breaks to `fd` with one `fd_write`, `times` times, each
/// time followed by a request on stdout whose answer it reads (so the host drains its
/// output between the writes, within one run); then it waits for input.
fn newline_writer(fd: u32, newlines: u32, times: u32) -> ModInstance {
    let request = r#"{"jsonrpc":"2.0","id":1,"method":"m"}"#;
    let wat = format!(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 32)
            (data (i32.const 200) "{request}\n")
            (func (export "_start") (local $i i32)
                (memory.fill (i32.const 4096) (i32.const 10) (i32.const {newlines}))
                (i32.store (i32.const 0) (i32.const 4096))
                (i32.store (i32.const 4) (i32.const {newlines}))
                (i32.store (i32.const 24) (i32.const 200))
                (i32.store (i32.const 28) (i32.const {len}))
                (i32.store (i32.const 16) (i32.const 1000))
                (i32.store (i32.const 20) (i32.const 2048))
                (block $done (loop $l
                    (br_if $done (i32.ge_u (local.get $i) (i32.const {times})))
                    (drop (call $w (i32.const {fd}) (i32.const 0) (i32.const 1) (i32.const 8)))
                    (drop (call $w (i32.const 1) (i32.const 24) (i32.const 1) (i32.const 8)))
                    (drop (call $r (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 8)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $l)))
                (loop $idle
                    (drop (call $r (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 8)))
                    (br $idle))))"#,
        request = request.replace('"', "\\\""),
        len = request.len() + 1,
    );
    let module = Runtime::new()
        .compile("newlines", &wat::parse_str(&wat).expect("valid WAT"))
        .expect("compiles");
    ModInstance::new(&module, &ModConfig::default()).expect("instantiates")
}

#[test]
fn a_log_flood_passes_at_most_1024_lines_a_run_and_says_once_that_the_rest_is_dropped() {
    // 4 bursts of 600 empty lines in one run, the host draining stderr after each: the
    // first 1,024 lines reach the host, the rest are dropped (176 lines of the second
    // burst, then two bursts), and it is said once.
    let mut mod_ = newline_writer(2, 600, 4);
    let mut host = LogCounter::default();
    assert_eq!(mod_.run(u64::MAX / 2, &mut host).unwrap(), RunStatus::Idle);
    assert_eq!(host.lines, 1024);
    assert_eq!(
        host.warnings,
        [
            "newlines: the rest of its log this run is dropped (176 bytes so far): it logged \
          1024 lines in it"
        ]
    );
    // A megabyte of line breaks at once costs the host no more.
    let mut mod_ = newline_writer(2, 1 << 20, 1);
    let mut host = LogCounter::default();
    assert_eq!(mod_.run(u64::MAX / 2, &mut host).unwrap(), RunStatus::Idle);
    assert_eq!(host.lines, 1024);
    assert_eq!(host.warnings.len(), 1);
}

#[test]
fn blank_lines_count_against_the_messages_a_run_serves() {
    // 64 Ki empty lines on stdout: 1,024 (the per-run cap) are skipped a run, so the
    // host never spends more than that on them at once; the request after them is
    // answered once they are through.
    let mut mod_ = newline_writer(1, 65_536, 1);
    let mut host = LogCounter::default();
    let mut runs = 1;
    while mod_.run(u64::MAX / 2, &mut host).unwrap() != RunStatus::Idle {
        runs += 1;
        assert!(runs < 1_000);
    }
    assert!((64..=66).contains(&runs), "{runs} runs");
    assert!(host.warnings.is_empty(), "{:?}", host.warnings);
}

#[test]
fn wasi_work_a_slice_cannot_cover_is_owed_too() {
    // A mod that asks for a megabyte of random bytes (1,000,000 fuel) and sends a
    // notification, again and again, in slices of 100,000: each megabyte is paid in
    // full before the mod runs on, so 20 slices see 2 of them, not one a slice.
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
        (memory (export "memory") 17)
        (data (i32.const 200) "{\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n")
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 200))
            (i32.store (i32.const 4) (i32.const 31))
            (loop $l
                (drop (call $random (i32.const 4096) (i32.const 1000000)))
                (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
                (br $l))))"#;
    let module = Runtime::new()
        .compile("random", &wat::parse_str(wat).unwrap())
        .unwrap();
    let mut mod_ = ModInstance::new(&module, &ModConfig::default()).unwrap();
    let mut counter = Counter::default();
    for _ in 0..20 {
        assert_eq!(mod_.run(100_000, &mut counter).unwrap(), RunStatus::Yielded);
        assert!(mod_.last_fuel() <= 100_000);
        assert!(mod_.is_runnable());
    }
    assert_eq!(counter.0, 2);
}

#[test]
fn what_a_mod_wrote_before_it_ended_is_served_at_the_usual_pace() {
    // 5,000 notifications and the end: served 1,024 a run like any other output (an
    // ended mod's last burst could hold the host for as long as it liked), and then the
    // exit is reported.
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 200) "{\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n")
        (func (export "_start") (local $i i32)
            (i32.store (i32.const 0) (i32.const 200))
            (i32.store (i32.const 4) (i32.const 31))
            (loop $l
                (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 5000))))))"#;
    let module = Runtime::new()
        .compile("ender", &wat::parse_str(wat).unwrap())
        .unwrap();
    let mut mod_ = ModInstance::new(&module, &ModConfig::default()).unwrap();
    let mut counter = Counter::default();
    let mut runs = 1;
    while mod_.run(u64::MAX / 2, &mut counter).unwrap() == RunStatus::Yielded {
        runs += 1;
        assert!(runs < 100);
    }
    assert_eq!(mod_.run(1, &mut counter).unwrap(), RunStatus::Exited(0));
    assert_eq!(counter.0, 5_000);
    assert_eq!(runs, 5);
}

#[test]
fn a_log_line_cut_off_by_the_cap_is_dropped_not_kept() {
    // 9 MiB of stderr without a line break: 1,024 records of 8 KiB reach the host, and
    // the rest of that line is dropped, not kept (it would grow with every run). The
    // next line the mod logs, in the next run, comes whole.
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 160)
        (data (i32.const 200) "tail\n")
        (func (export "_start")
            (memory.fill (i32.const 4096) (i32.const 120) (i32.const 9437184))
            (i32.store (i32.const 0) (i32.const 4096))
            (i32.store (i32.const 4) (i32.const 9437184))
            (i32.store (i32.const 24) (i32.const 200))
            (i32.store (i32.const 28) (i32.const 5))
            (i32.store (i32.const 16) (i32.const 1000))
            (i32.store (i32.const 20) (i32.const 2048))
            (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
            (loop $l
                (drop (call $r (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 8)))
                (drop (call $w (i32.const 2) (i32.const 24) (i32.const 1) (i32.const 8)))
                (br $l))))"#;
    #[derive(Default)]
    struct Lines(Vec<String>);
    impl ModHost for Lines {
        fn request(&mut self, _: &str, request: &Request<'_>) -> Outcome {
            NoHost.request("", request)
        }
        fn log(&mut self, _: &str, line: &str) {
            self.0.push(line.to_owned());
        }
    }
    let module = Runtime::new()
        .compile("long_line", &wat::parse_str(wat).unwrap())
        .unwrap();
    let mut mod_ = ModInstance::new(&module, &ModConfig::default()).unwrap();
    let mut host = Lines::default();
    assert_eq!(mod_.run(u64::MAX / 2, &mut host).unwrap(), RunStatus::Idle);
    assert_eq!(host.0.len(), 1024);
    assert!(
        host.0
            .iter()
            .all(|line| line.len() == 8192 && line.bytes().all(|b| b == b'x')),
        "1,024 records of 8 KiB of `x`"
    );
    host.0.clear();
    mod_.notify("wake", &()).unwrap();
    assert_eq!(mod_.run(u64::MAX / 2, &mut host).unwrap(), RunStatus::Idle);
    let lengths: Vec<usize> = host.0.iter().map(String::len).collect();
    assert_eq!(lengths, [4], "the lines' lengths");
    assert_eq!(host.0[0], "tail");
}
