//! The C mod `pulse` (the committed `assets/mods/pulse.wasm`, built from
//! `examples/mods/pulse/pulse.c` by `scripts/build-mods.sh`) driven through the
//! runtime as the game would: its manifest, its `game.set_background` calls on every
//! 30th tick, its `stats`, the standard errors, hostile input, a host error, answers in
//! any order and its count across a hot reload.
#![allow(clippy::unwrap_used)] // Tests unwrap to fail loudly.

use bevy_wasmi_plugins::protocol::{ErrorCode, Outcome, Request, ResponseError, to_raw};
use bevy_wasmi_plugins::runtime::{
    CallHandle, Guest, GuestStatus, ModConfig, ModHost, ModInstance, RunStatus, Runtime,
};
use serde_json::{Value, json};

const PULSE: &[u8] = include_bytes!("../assets/mods/pulse.wasm");

/// The error code this test's game answers `game.set_background` with when told to fail.
const LAVA: i32 = 7;

/// A game with `game.set_background`, recording the mod's calls, log and mistakes.
#[derive(Default)]
struct Game {
    /// The params of every `game.set_background` call.
    backgrounds: Vec<Value>,
    /// Every stderr line of the mod.
    logs: Vec<String>,
    /// Protocol warnings (such as an answer to no request).
    warnings: Vec<String>,
    /// Answer `game.set_background` with an error.
    fail: bool,
}

impl ModHost for Game {
    fn request(&mut self, _mod_name: &str, request: &Request<'_>) -> Outcome {
        match &*request.method {
            "game.set_background" => {
                self.backgrounds.push(request.params()?);
                if self.fail {
                    Err(ResponseError {
                        code: LAVA,
                        message: "the floor is lava".to_owned(),
                        data: None,
                    })
                } else {
                    to_raw(&())
                }
            }
            _ => Err(ResponseError::method_not_found(&request.method)),
        }
    }

    fn log(&mut self, _mod_name: &str, line: &str) {
        self.logs.push(line.to_owned());
    }

    fn protocol_warning(&mut self, _mod_name: &str, warning: &str) {
        self.warnings.push(warning.to_owned());
    }
}

/// Runs until `handle` completes.
fn finish(mod_: &mut ModInstance, handle: &CallHandle, game: &mut Game) -> Outcome {
    for _ in 0..1_000 {
        let status = mod_.run(100_000_000, game);
        if let Some(outcome) = handle.try_result() {
            return outcome;
        }
        assert_eq!(status.unwrap(), RunStatus::Yielded, "the mod stopped");
    }
    panic!("no answer");
}

fn call(mod_: &mut ModInstance, game: &mut Game, method: &str, params: &Value) -> Outcome {
    let handle = mod_.call(method, params);
    finish(mod_, &handle, game)
}

fn ok(outcome: Outcome) -> Value {
    serde_json::from_str(outcome.expect("the call succeeds").get()).unwrap()
}

/// Starts an instance and answers its `plugin.init` with `state`: the mod and its
/// manifest.
fn start(game: &mut Game, state: &Value) -> (ModInstance, Value) {
    let runtime = Runtime::new();
    let module = runtime
        .compile("pulse", PULSE)
        .expect("pulse.wasm compiles");
    let mut mod_ = ModInstance::new(&module, &ModConfig::default()).unwrap();
    let params = json!({"api_version": 1, "config": null, "state": state});
    let manifest = ok(call(&mut mod_, game, "plugin.init", &params));
    (mod_, manifest)
}

/// Sends the `game.tick` event of `frame` and lets the mod handle it.
fn tick(mod_: &mut ModInstance, game: &mut Game, frame: u64) {
    let time = frame as f32 / 60.0;
    mod_.notify(
        "game.tick",
        &json!({"frame": frame, "time": time, "dt": 1.0 / 60.0}),
    )
    .unwrap();
    assert_eq!(mod_.run(100_000_000, game).unwrap(), RunStatus::Idle);
}

fn stats(mod_: &mut ModInstance, game: &mut Game) -> Value {
    ok(call(mod_, game, "stats", &Value::Null))
}

/// A background's params as `[r, g, b]`, checking they are just those, in 0..1.
fn rgb(params: &Value) -> [f64; 3] {
    let object = params.as_object().unwrap();
    assert_eq!(object.len(), 3, "{params}");
    ["r", "g", "b"].map(|c| {
        let v = object[c].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{params}");
        v
    })
}

fn error_code(outcome: Outcome) -> i32 {
    outcome.expect_err("the call fails").code
}

#[test]
fn the_manifest_names_stats_and_game_tick() {
    let mut game = Game::default();
    let (_, manifest) = start(&mut game, &Value::Null);
    assert_eq!(manifest["version"], "0.1.0");
    assert_eq!(manifest["methods"], json!(["stats"]));
    assert_eq!(manifest["events"], json!(["game.tick"]));
    assert_eq!(game.logs, ["pulse: started, 0 pulses so far"]);
}

#[test]
fn every_thirtieth_tick_sets_a_new_dark_background() {
    let mut game = Game::default();
    let (mut mod_, _) = start(&mut game, &Value::Null);
    assert_eq!(stats(&mut mod_, &mut game)["pulses"], 0);
    for frame in 1..30 {
        tick(&mut mod_, &mut game, frame);
    }
    assert!(game.backgrounds.is_empty(), "{:?}", game.backgrounds);
    for frame in 30..=90 {
        tick(&mut mod_, &mut game, frame);
    }
    assert_eq!(game.backgrounds.len(), 3, "{:?}", game.backgrounds);
    let colours: Vec<[f64; 3]> = game.backgrounds.iter().map(rgb).collect();
    for colour in &colours {
        assert!(colour.iter().all(|c| *c <= 0.25), "not dark: {colour:?}");
    }
    assert!(colours[0] != colours[1] && colours[1] != colours[2] && colours[0] != colours[2]);

    let stats = stats(&mut mod_, &mut game);
    assert_eq!(stats["pulses"], 3);
    assert_eq!(stats["last"], json!(colours[2]));
    assert!(game.warnings.is_empty(), "{:?}", game.warnings);
}

#[test]
fn unknown_methods_and_bad_params_get_the_standard_errors() {
    let mut game = Game::default();
    let (mut mod_, _) = start(&mut game, &Value::Null);
    let error = call(&mut mod_, &mut game, "no_such_method", &json!([])).unwrap_err();
    assert_eq!(error.code, ErrorCode::MethodNotFound.code());
    assert_eq!(error.message, "Method not found: no_such_method");
    // `stats` takes no params; params must be an array or an object.
    let outcome = call(&mut mod_, &mut game, "stats", &json!([1]));
    assert_eq!(error_code(outcome), ErrorCode::InvalidParams.code());
    let outcome = call(&mut mod_, &mut game, "plugin.init", &json!([1]));
    assert_eq!(error_code(outcome), ErrorCode::InvalidParams.code());
    // Empty params are no params.
    assert_eq!(
        ok(call(&mut mod_, &mut game, "stats", &json!({})))["pulses"],
        0
    );
}

#[test]
fn hostile_input_is_refused_and_the_mod_keeps_working() {
    let mut game = Game::default();
    let (mut mod_, _) = start(&mut game, &Value::Null);

    // A 100 KB request, longer than the mod's 64 KiB line buffer: the mod refuses it
    // with its id (the runtime itself refuses lines over 1 MiB before sending them).
    let long = json!({"text": "a".repeat(100_000)});
    let error = call(&mut mod_, &mut game, "stats", &long).unwrap_err();
    assert_eq!(error.code, ErrorCode::MessageTooLarge.code());
    assert!(
        error.message.starts_with("Message too large"),
        "{}",
        error.message
    );
    // Params nested 1000 deep: refused with its id.
    let deep = (0..1000).fold(json!(0), |inner, _| json!([inner]));
    let outcome = call(&mut mod_, &mut game, "stats", &deep);
    assert_eq!(error_code(outcome), ErrorCode::InvalidRequest.code());

    // Lines no game would send: 100 KB of `[`, garbage, invalid UTF-8, broken JSON,
    // ticks without a usable frame. Errors go back with id null.
    mod_.write_raw(&[b'['; 100_000]);
    mod_.write_raw(b"\n\x00\xff\xfe garbage\n{\"jsonrpc\":\"2.0\",\"id\":5,\"method\"\n");
    mod_.write_raw(
        b"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"stats\",\"params\":\"\xc3\x28\"}\n",
    );
    mod_.write_raw(b"[]\nnull\n{}\n\r\n   \n");
    for params in ["", r#","params":{}"#, r#","params":{"frame":"30"}"#] {
        let line = format!(r#"{{"jsonrpc":"2.0","method":"game.tick"{params}}}"#);
        mod_.write_raw(format!("{line}\n").as_bytes());
    }
    assert_eq!(mod_.run(u64::MAX / 2, &mut game).unwrap(), RunStatus::Idle);
    assert_eq!(game.warnings.len(), 7, "{:?}", game.warnings);
    assert!(
        game.warnings.iter().all(|w| w.contains("id null")),
        "{:?}",
        game.warnings
    );
    assert!(game.backgrounds.is_empty());

    // Still alive and serving.
    assert!(matches!(mod_.state(), Ok(RunStatus::Idle)));
    assert_eq!(stats(&mut mod_, &mut game)["pulses"], 0);
    tick(&mut mod_, &mut game, 30);
    assert_eq!(stats(&mut mod_, &mut game)["pulses"], 1);
}

#[test]
fn a_host_error_is_logged_and_not_counted() {
    let mut game = Game {
        fail: true,
        ..Game::default()
    };
    let (mut mod_, _) = start(&mut game, &Value::Null);
    tick(&mut mod_, &mut game, 30);
    assert_eq!(game.backgrounds.len(), 1);
    let logged = game
        .logs
        .iter()
        .find(|l| l.contains("game.set_background failed"))
        .unwrap_or_else(|| panic!("no error in the log: {:?}", game.logs));
    assert!(logged.starts_with("WARN "), "{logged}");
    assert!(logged.contains("the floor is lava"), "{logged}");
    assert!(logged.contains(&LAVA.to_string()), "{logged}");
    assert_eq!(stats(&mut mod_, &mut game)["pulses"], 0);

    game.fail = false;
    tick(&mut mod_, &mut game, 60);
    let stats = stats(&mut mod_, &mut game);
    assert_eq!(stats["pulses"], 1);
    assert_eq!(stats["last"], json!(rgb(&game.backgrounds[1])));
}

/// Writes `input` to the mod's stdin on the bytes-only layer, where the test plays the
/// host by hand, runs the mod until it waits, and returns the lines it wrote.
fn exchange(guest: &mut Guest, input: &str) -> Vec<Value> {
    guest.write_stdin(input.as_bytes());
    assert_eq!(
        guest.resume(u64::MAX / 2).unwrap(),
        GuestStatus::WaitingInput
    );
    let mut out = Vec::new();
    guest.take_stdout(&mut out);
    out.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("each line is JSON"))
        .collect()
}

/// A started instance on the bytes-only layer.
fn raw_pulse() -> Guest {
    let runtime = Runtime::new();
    let module = runtime.compile("pulse", PULSE).unwrap();
    let mut guest = Guest::new(&module, &ModConfig::default()).unwrap();
    let init = concat!(
        r#"{"jsonrpc":"2.0","id":1,"method":"plugin.init","#,
        r#""params":{"api_version":1,"config":null,"state":null}}"#,
        "\n"
    );
    let sent = exchange(&mut guest, init);
    assert_eq!(sent[0]["result"]["events"], json!(["game.tick"]));
    guest
}

fn tick_line(frame: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","method":"game.tick","params":{{"frame":{frame},"time":0.5,"dt":0.016}}}}"#
    )
}

/// Several messages in one read, and the answers to the mod's two calls in the reverse
/// order, between other messages.
#[test]
fn answers_and_events_in_any_order_several_to_a_read() {
    let mut guest = raw_pulse();
    let sent = exchange(
        &mut guest,
        &format!("{}\n{}\n", tick_line(30), tick_line(60)),
    );
    assert_eq!(sent.len(), 2, "{sent:?}");
    let (first, second) = (&sent[0], &sent[1]);
    assert_eq!(first["method"], "game.set_background");
    assert_eq!(second["method"], "game.set_background");
    assert_ne!(first["id"], second["id"]);

    let answer = |call: &Value| format!(r#"{{"jsonrpc":"2.0","id":{},"result":null}}"#, call["id"]);
    let stats = r#"{"jsonrpc":"2.0","id":2,"method":"stats"}"#;
    let input = format!(
        "{}\n{}\n{}\n{stats}\n",
        answer(second),
        tick_line(61),
        answer(first)
    );
    let sent = exchange(&mut guest, &input);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["id"], 2);
    // Both count, and `last` is the later pulse's colour.
    assert_eq!(sent[0]["result"]["pulses"], 2);
    assert_eq!(sent[0]["result"]["last"], json!(rgb(&second["params"])));
}

/// Lines no game sends get the errors the protocol guide names, with the request's id
/// when it has a usable one.
#[test]
fn malformed_and_oversized_messages_get_the_standard_errors() {
    let mut guest = raw_pulse();
    let cases = [
        ("{not json", json!(null), ErrorCode::ParseError),
        (
            r#"{"jsonrpc":"2.0","id":5,"method":"stats","params":"x"}"#,
            json!(5),
            ErrorCode::InvalidRequest,
        ),
        (
            r#"{"jsonrpc":"1.0","id":"a","method":"stats"}"#,
            json!("a"),
            ErrorCode::InvalidRequest,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1.5,"method":"stats"}"#,
            json!(null),
            ErrorCode::InvalidRequest,
        ),
        (
            r#"{"jsonrpc":"2.0","id":6,"method":7}"#,
            json!(6),
            ErrorCode::InvalidRequest,
        ),
        (
            r#"[{"jsonrpc":"2.0","id":7,"method":"stats"}]"#,
            json!(null),
            ErrorCode::InvalidRequest,
        ),
        ("42", json!(null), ErrorCode::InvalidRequest),
    ];
    for (line, id, code) in cases {
        let sent = exchange(&mut guest, &format!("{line}\n"));
        assert_eq!(sent.len(), 1, "{line}: {sent:?}");
        assert_eq!(sent[0]["id"], id, "{line}: {sent:?}");
        assert_eq!(sent[0]["error"]["code"], code.code(), "{line}: {sent:?}");
    }
    // A 2 MB request is refused with its id, a 2 MB event without an answer.
    let text = "a".repeat(2 << 20);
    let request = format!(r#"{{"jsonrpc":"2.0","id":8,"method":"stats","params":["{text}"]}}"#);
    let sent = exchange(&mut guest, &format!("{request}\n"));
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["id"], 8);
    assert_eq!(sent[0]["error"]["code"], ErrorCode::MessageTooLarge.code());
    let event = format!(r#"{{"jsonrpc":"2.0","method":"game.tick","params":["{text}"]}}"#);
    assert!(exchange(&mut guest, &format!("{event}\n")).is_empty());
    // Notifications are never answered, even broken ones.
    let sent = exchange(
        &mut guest,
        "{\"jsonrpc\":\"2.0\",\"method\":\"game.tick\",\"params\":[]}\n",
    );
    assert!(sent.is_empty(), "{sent:?}");
    // And the mod still answers.
    let sent = exchange(
        &mut guest,
        "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"stats\"}\n",
    );
    assert_eq!(sent[0]["result"]["pulses"], 0, "{sent:?}");
}

#[test]
fn the_pulse_count_survives_a_hot_reload() {
    let mut game = Game::default();
    let (mut old, _) = start(&mut game, &Value::Null);
    for frame in [30, 60, 90] {
        tick(&mut old, &mut game, frame);
    }
    let answer = ok(call(&mut old, &mut game, "plugin.shutdown", &Value::Null));
    let state = &answer["state"];
    assert_eq!(state["pulses"], 3, "{answer}");
    // After answering, the old instance keeps waiting instead of exiting.
    assert!(matches!(old.state(), Ok(RunStatus::Idle)));

    let mut game = Game::default();
    let (mut new, _) = start(&mut game, state);
    assert_eq!(game.logs, ["pulse: started, 3 pulses so far"]);
    let stats = stats(&mut new, &mut game);
    assert_eq!(stats["pulses"], 3);
    assert_eq!(stats, answer["state"]);
    tick(&mut new, &mut game, 120);
    assert_eq!(self::stats(&mut new, &mut game)["pulses"], 4);
    // The hue carries on: the new pulse is not the old last colour.
    assert_ne!(json!(rgb(&game.backgrounds[0])), stats["last"]);

    // An unusable state is logged and ignored: the mod still starts.
    let mut game = Game::default();
    let (mut fresh, _) = start(&mut game, &json!({"pulses": "many"}));
    assert_eq!(self::stats(&mut fresh, &mut game)["pulses"], 0);
    assert!(
        game.logs.iter().any(|l| l.contains("state")),
        "{:?}",
        game.logs
    );
}
