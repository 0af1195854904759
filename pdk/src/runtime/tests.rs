//! The main loop against an in-memory host: exact bytes on the wire, nested and
//! concurrent host calls, batches, oversize lines, lifecycle.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use serde::Deserialize;
use serde_json::{Value, json};

use super::io::Io;
use super::{Meta, serve};
use crate::prelude::*;

mod typed;

/// A host in memory: feeds `input`, then asks `host` for more input with the lines the
/// mod wrote since; empty input from `host` closes stdin.
struct FakeHost<F> {
    input: VecDeque<u8>,
    output: Vec<u8>,
    seen: usize,
    writes: usize,
    host: F,
}

impl<F: FnMut(&str) -> String> Io for FakeHost<F> {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        if self.input.is_empty() {
            let new = as_text(&self.output[self.seen..]);
            self.seen = self.output.len();
            self.input.extend((self.host)(&new).into_bytes());
        }
        let n = buf.len().min(self.input.len());
        for (slot, byte) in buf.iter_mut().zip(self.input.drain(..n)) {
            *slot = byte;
        }
        n
    }

    fn write(&mut self, bytes: &[u8]) -> bool {
        self.writes += 1;
        self.output.extend_from_slice(bytes);
        true
    }
}

/// What the mod wrote, as text for the scripted hosts: a line that came with an
/// attachment gets it as one more member, `"@attachment":"<base64>"`.
fn as_text(mut output: &[u8]) -> String {
    use crate::protocol::attach::{Split, split_frame};
    let mut text = String::new();
    while let Split::Frame {
        attachment,
        line,
        len,
    } = split_frame(output)
    {
        let line = std::str::from_utf8(line).unwrap();
        match attachment {
            Some(bytes) => {
                let packed = crate::protocol::brp::packed::pack(bytes);
                let open = line.strip_suffix('}').unwrap();
                text += &format!("{open},\"@attachment\":\"{packed}\"}}\n");
            }
            None => text += &format!("{line}\n"),
        }
        output = &output[len..];
    }
    text + std::str::from_utf8(output).unwrap()
}

const META: Meta = Meta {
    name: "test-mod",
    version: "1.2.3",
};

/// Runs `P` on `input` with a scripted host; returns everything written and how many
/// writes it took.
fn run_with<P: Plugin>(
    input: &str,
    max: usize,
    host: impl FnMut(&str) -> String,
) -> (String, usize) {
    let mut io = FakeHost {
        input: input.bytes().collect(),
        output: Vec::new(),
        seen: 0,
        writes: 0,
        host,
    };
    serve::<P>(&META, &mut io, max);
    (as_text(&io.output), io.writes)
}

/// Runs `P` on `input` with a host that never answers.
fn run<P: Plugin>(input: &str) -> String {
    run_with::<P>(input, 1 << 20, |_| String::new()).0
}

/// A host answering `host.double` requests (fast form) in the order they came.
fn doubling_host(lines: &str) -> String {
    let mut answers = String::new();
    for line in lines.lines() {
        let message: Value = serde_json::from_str(line).unwrap();
        if message["method"] == "host.double" {
            let n = message["params"][0].as_i64().unwrap();
            answers += &format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{}}}\n",
                message["id"],
                n * 2
            );
        }
    }
    answers
}

#[derive(Default)]
struct Test {
    count: Cell<i64>,
    ticks: Cell<i64>,
    speed: Cell<i64>,
}

#[derive(Deserialize)]
struct Config {
    speed: i64,
}

impl Plugin for Test {
    fn methods(methods: &mut Methods<Self>) {
        methods
            .add("add", |_: &'static Self, (a, b): (i64, i64)| async move {
                Ok(a + b)
            })
            .add("echo", |_: &'static Self, params: Json| async move {
                Ok(params)
            })
            .add("count", Self::count)
            .add("speed", |this: &'static Self| async move {
                Ok(this.speed.get())
            })
            .add("ticks", |this: &'static Self| async move {
                Ok(this.ticks.get())
            })
            .add("double", Self::double)
            .add("pair", Self::pair)
            .add("fail", |_: &'static Self, (): ()| async move {
                Err::<(), _>(Error::new(-32050, "failed on purpose").with_data(&[1, 2]))
            })
            .add("ping_twice", |_: &'static Self| async move {
                host::notify("test.ping", &json!({"i": 0}))?;
                host::notify("test.ping", &())?;
                Ok("sent")
            })
            .add("bad_notify", |_: &'static Self| async move {
                host::notify("test.ping", &5)?;
                Ok(())
            })
            .add("host_error", |_: &'static Self| async move {
                match host::call::<i64>("host.missing", &()).await {
                    Ok(_) => Ok(json!("unexpected")),
                    Err(e) => Ok(json!([e.code(), e.message(), e.data().map(|d| d.get())])),
                }
            })
            .add("sequence", |_: &'static Self| async move {
                let mut sum = 0;
                for i in 0..12i64 {
                    let method = if i % 3 == 2 { "b\"y" } else { "host.double" };
                    sum += host::call::<i64>(method, &[i]).await?;
                }
                let none: i64 = host::call("host.double", &()).await?;
                Ok(sum + none)
            })
            .add("init", |_: &'static Self| async move { Ok("shadowed") })
            .add("plugin.init", |_: &'static Self| async move { Ok("never") });
    }

    fn events() -> &'static [&'static str] {
        &["game.tick"]
    }

    async fn init(&'static self, init: Init) -> Result<(), Error> {
        if let Some(config) = init.config::<Option<Config>>()? {
            self.speed.set(config.speed);
        }
        self.count.set(init.state()?.unwrap_or(0));
        Ok(())
    }

    async fn handle(&'static self, method: &str, params: Params<'_>) -> Result<Json, Error> {
        if method == "raw" {
            return Json::of(&json!({"method": method, "params": params.get()}));
        }
        Err(Error::method_not_found(method))
    }

    async fn notification(&'static self, method: &str, params: Params<'_>) {
        NOTIFIED.with(|seen| seen.borrow_mut().push(format!("{method} {}", params.get())));
        if method == "game.tick" {
            self.ticks.set(self.ticks.get() + 1);
        }
    }

    async fn shutdown(&'static self) -> Result<Option<Json>, Error> {
        Json::of(&self.count.get()).map(Some)
    }
}

impl Test {
    async fn count(&'static self) -> Result<i64, Error> {
        self.count.set(self.count.get() + 1);
        Ok(self.count.get())
    }

    async fn double(&'static self, (n,): (i64,)) -> Result<i64, Error> {
        let doubled: i64 = host::call("host.double", &[n]).await?;
        Ok(doubled + 1)
    }

    async fn pair(&'static self, (a, b): (i64, i64)) -> Result<i64, Error> {
        let first = host::call::<i64>("host.double", &[a]);
        let second = host::call::<i64>("host.double", &[b]);
        Ok(first.await? + second.await?)
    }
}

#[test]
fn answers_a_typed_request_in_the_fixed_form() {
    assert_eq!(
        run::<Test>("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":[2,3]}\n"),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":5}\n"
    );
    // String ids are kept as strings; member order and spaces do not matter.
    assert_eq!(
        run::<Test>(r#"{ "params" : [2, 3], "method": "add", "id": "x", "jsonrpc": "2.0" }"#),
        "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":5}\n"
    );
}

#[test]
fn raw_params_pass_through() {
    assert_eq!(
        run::<Test>(r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a": [1, "b"]}}"#),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\": [1, \"b\"]}}\n"
    );
    assert_eq!(
        run::<Test>(r#"{"jsonrpc":"2.0","id":1,"method":"echo"}"#),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}\n"
    );
}

#[test]
fn errors_have_the_protocol_codes() {
    let out = run::<Test>(concat!(
        r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":2,"method":"add","params":{"a":1}}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":3,"method":"fail"}"#,
        "\n",
        "{oops\n",
        r#"{"jsonrpc":"2.0","id":4,"method":"bad_notify"}"#,
        "\n",
    ));
    // Responses come in the order they are ready: sort them by id (null first).
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_by_key(|line| serde_json::from_str::<Value>(line).unwrap()["id"].as_i64());
    let null = lines.remove(0);
    assert_eq!(
        null,
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#
    );
    assert_eq!(
        lines[0],
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found: nope"}}"#
    );
    assert!(
        lines[1].starts_with(
            r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Invalid params for add: invalid type: map"#
        ),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32050,"message":"failed on purpose","data":[1,2]}}"#
    );
    assert!(
        lines[3].contains(r#""code":-32602,"message":"params of test.ping must be a JSON array or object (or null for none), not 5""#),
        "{}",
        lines[3]
    );
    assert_eq!(lines.len(), 4);
}

#[test]
fn fallback_handler_gets_unregistered_methods() {
    assert_eq!(
        run::<Test>(r#"{"jsonrpc":"2.0","id":7,"method":"raw","params":[1]}"#),
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"method\":\"raw\",\"params\":\"[1]\"}}\n"
    );
}

#[test]
fn nested_host_call() {
    let mut exchanges = Vec::new();
    let (out, _) = run_with::<Test>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"double\",\"params\":[20]}\n",
        1 << 20,
        |lines| {
            exchanges.push(lines.to_owned());
            doubling_host(lines)
        },
    );
    assert_eq!(
        exchanges[0],
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"host.double\",\"params\":[20]}\n"
    );
    assert_eq!(
        out.lines().last(),
        Some("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":41}")
    );
}

#[test]
fn concurrent_requests_are_answered_out_of_order() {
    // Two requests wait on the host; the host answers the second one's call first.
    let mut step = 0;
    let (out, _) = run_with::<Test>(
        concat!(
            "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"double\",\"params\":[1]}\n",
            "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"double\",\"params\":[10]}\n",
            "{\"jsonrpc\":\"2.0\",\"id\":\"c\",\"method\":\"add\",\"params\":[1,1]}\n",
        ),
        1 << 20,
        |lines| {
            step += 1;
            if step == 1 {
                // Both calls went out in one write, before either was answered, and
                // the request that needed no host call was answered already.
                assert_eq!(lines.lines().count(), 3, "{lines}");
                assert!(lines.contains("\"id\":\"c\",\"result\":2"));
                // Answer in reverse, the second through the full parser (spaces).
                "{\"jsonrpc\": \"2.0\", \"result\": 20, \"id\": 2}\n".to_owned()
            } else if step == 2 {
                assert_eq!(lines, "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"result\":21}\n");
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":2}\n".to_owned()
            } else {
                String::new()
            }
        },
    );
    assert!(
        out.ends_with("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":3}\n"),
        "{out}"
    );
}

#[test]
fn host_requests_are_written_exactly() {
    let mut requests = Vec::new();
    let (out, _) = run_with::<Test>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sequence\"}\n",
        1 << 20,
        |lines| {
            let mut answers = String::new();
            for line in lines.lines() {
                let message: Value = serde_json::from_str(line).unwrap();
                if message.get("method").is_some() {
                    requests.push(line.to_owned());
                    answers += &format!(
                        "{{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{}}}\n",
                        message["id"],
                        message["params"][0].as_i64().unwrap_or(100)
                    );
                }
            }
            answers
        },
    );
    assert!(
        out.ends_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":166}\n"),
        "{out}"
    );
    let expected: Vec<String> = (1..=12)
        .map(|id| {
            let i = id - 1;
            let method = if i % 3 == 2 {
                r#""b\"y""#
            } else {
                r#""host.double""#
            };
            format!(r#"{{"jsonrpc":"2.0","id":{id},"method":{method},"params":[{i}]}}"#)
        })
        .chain([r#"{"jsonrpc":"2.0","id":13,"method":"host.double"}"#.to_owned()])
        .collect();
    assert_eq!(requests, expected);
}

#[test]
fn calls_made_together_are_in_flight_together() {
    let mut rounds = 0;
    let (out, _) = run_with::<Test>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pair\",\"params\":[3,4]}\n",
        1 << 20,
        |lines| {
            rounds += 1;
            doubling_host(lines)
        },
    );
    assert!(
        out.ends_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":14}\n"),
        "{out}"
    );
    // One round for both calls, one to see the answer (and hit the end of input);
    // calls awaited one after the other would have needed a round each.
    assert_eq!(rounds, 2);
}

#[test]
fn host_errors_reach_the_caller() {
    let (out, _) = run_with::<Test>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"host_error\"}\n",
        1 << 20,
        |lines| {
            let mut answers = String::new();
            for line in lines.lines() {
                let message: Value = serde_json::from_str(line).unwrap();
                if message["method"] == "host.missing" {
                    assert!(message.get("params").is_none(), "null params are left out");
                    answers += &format!(
                        "{{\"jsonrpc\":\"2.0\",\"id\":{},\"error\":{{\"code\":-32601,\"message\":\"Method not found: host.missing\",\"data\":{{\"x\":1}}}}}}\n",
                        message["id"]
                    );
                }
            }
            answers
        },
    );
    assert!(
        out.ends_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[-32601,\"Method not found: host.missing\",\"{\\\"x\\\":1}\"]}\n"),
        "{out}"
    );
}

#[test]
fn unknown_response_ids_are_ignored() {
    let out = run::<Test>(concat!(
        "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":1}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"error\":{\"code\":1,\"message\":\"m\"}}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":[1,2]}\n",
    ));
    assert_eq!(out, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":3}\n");
}

thread_local! {
    /// What `Test::notification` was called with: `<method> <params>`, in order.
    static NOTIFIED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

#[test]
fn notifications_are_sent_and_received() {
    let out = run::<Test>(concat!(
        "{\"jsonrpc\":\"2.0\",\"method\":\"game.tick\"}\n",
        "{\"jsonrpc\":\"2.0\",\"method\":\"game.tick\",\"params\":{\"dt\":0.016}}\n",
        "{\"jsonrpc\":\"2.0\",\"method\":\"unknown.event\"}\n",
        "{\"jsonrpc\":\"2.0\",\"method\":\"unknown.event\",\"params\":[1, \"two\"]}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ticks\"}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping_twice\"}\n",
    ));
    assert_eq!(
        out,
        concat!(
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":2}\n",
            "{\"jsonrpc\":\"2.0\",\"method\":\"test.ping\",\"params\":{\"i\":0}}\n",
            "{\"jsonrpc\":\"2.0\",\"method\":\"test.ping\"}\n",
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"sent\"}\n",
        )
    );
    // A listed event and an unlisted one both reach the handler with their method and
    // params as they came (the listed one named by the plugin's own string, the other
    // copied).
    assert_eq!(
        NOTIFIED.with(RefCell::take),
        [
            "game.tick null",
            "game.tick {\"dt\":0.016}",
            "unknown.event null",
            "unknown.event [1, \"two\"]",
        ]
    );
}

#[test]
fn init_returns_the_manifest_and_state_carries_over() {
    let out = run::<Test>(concat!(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"plugin.init\",\"params\":{\"api_version\":1,\"config\":{\"speed\":7},\"state\":41}}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"count\"}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"speed\"}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"plugin.shutdown\"}\n",
    ));
    assert_eq!(
        out,
        concat!(
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"name\":\"test-mod\",\"version\":\"1.2.3\",",
            "\"methods\":[\"add\",\"bad_notify\",\"count\",\"double\",\"echo\",\"fail\",\"host_error\",",
            "\"init\",\"pair\",\"ping_twice\",\"sequence\",\"speed\",\"ticks\"],\"events\":[\"game.tick\"]}}\n",
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":42}\n",
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":7}\n",
            "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"state\":42}}\n",
        )
    );
    // No params, null config and state: defaults.
    let out = run::<Test>(concat!(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"plugin.init\"}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"plugin.init\",\"params\":{\"config\":null,\"state\":null}}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"plugin.init\",\"params\":{\"state\":\"x\"}}\n",
    ));
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["result"]["name"], "test-mod");
    assert_eq!(lines[1]["result"]["version"], "1.2.3");
    assert_eq!(lines[2]["error"]["code"], -32602);
}

#[test]
fn batches_are_answered_as_one_array() {
    // The specification's mixed batch (with a request that waits on the host).
    let batch = concat!(
        "[",
        r#"{"jsonrpc": "2.0", "method": "add", "params": [1,2], "id": "1"},"#,
        r#"{"jsonrpc": "2.0", "method": "game.tick", "params": [7]},"#,
        r#"{"jsonrpc": "2.0", "method": "double", "params": [21], "id": "2"},"#,
        r#"{"foo": "boo"},"#,
        r#"{"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},"#,
        r#"1"#,
        "]\n",
    );
    let (out, _) = run_with::<Test>(batch, 1 << 20, doubling_host);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        r#"{"jsonrpc":"2.0","id":1,"method":"host.double","params":[21]}"#
    );
    assert_eq!(
        lines[1],
        concat!(
            "[",
            r#"{"jsonrpc":"2.0","id":"1","result":3},"#,
            r#"{"jsonrpc":"2.0","id":"2","result":43},"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}},"#,
            r#"{"jsonrpc":"2.0","id":"5","error":{"code":-32601,"message":"Method not found: foo.get"}},"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}"#,
            "]"
        )
    );
    assert_eq!(lines.len(), 2);

    // Only notifications: nothing. Empty batch, bad JSON: one error with a null id.
    assert_eq!(
        run::<Test>(
            "[{\"jsonrpc\":\"2.0\",\"method\":\"game.tick\"},{\"jsonrpc\":\"2.0\",\"method\":\"x\"}]\n"
        ),
        ""
    );
    assert_eq!(
        run::<Test>("[]\n"),
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"Invalid Request\"}}\n"
    );
    assert_eq!(
        run::<Test>("[1,2,3]\n"),
        concat!(
            "[",
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}},"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}},"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}"#,
            "]\n"
        )
    );
    assert_eq!(
        run::<Test>("[{\"jsonrpc\":\"2.0\",\"method\":\"sum\"},{\"jsonrpc\":\"2.0\"\n"),
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}\n"
    );
}

#[test]
fn oversize_lines_get_an_error_and_the_next_line_is_served() {
    let mut input =
        String::from("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[\"");
    input += &"x".repeat(10_000);
    input += "\"]}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"add\",\"params\":[1,2]}\n";
    let (out, _) = run_with::<Test>(&input, 5000, |_| String::new());
    assert_eq!(
        out,
        concat!(
            "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32004,\"message\":\"Message too large: a line was longer than 5000 bytes\"}}\n",
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":3}\n",
        )
    );
}

#[test]
fn blank_lines_crlf_and_a_last_line_without_newline() {
    let out = run::<Test>(concat!(
        "\n  \r\n",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":[1,2]}\r\n",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"add\",\"params\":[3,4]}",
    ));
    assert_eq!(
        out,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":3}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":7}\n"
    );
}

#[test]
fn one_write_per_round() {
    let input: String = (0..50)
        .map(|i| format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"count\"}}\n"))
        .collect();
    let (out, writes) = run_with::<Test>(&input, 1 << 20, |_| String::new());
    assert_eq!(out.lines().count(), 50);
    assert!(out.ends_with("{\"jsonrpc\":\"2.0\",\"id\":49,\"result\":50}\n"));
    assert_eq!(writes, 1);
}

#[test]
fn builtins_cannot_be_replaced() {
    let mut methods = Methods::<Test>::new();
    Test::methods(&mut methods);
    assert!(!methods.contains("plugin.init"));
    assert!(methods.contains("init"));
}

#[test]
fn a_line_break_inside_params_ends_the_line() {
    // The start of a fixed-form line is read before the line is split off; the line
    // still ends at its first `\n`, even where the JSON would go on.
    let out = run::<Test>(concat!(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":[1,\n2]}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"add\",\"params\":[3,4]}\n",
    ));
    let parse_error = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}\n";
    assert_eq!(
        out,
        format!("{parse_error}{parse_error}{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":7}}\n")
    );
}
