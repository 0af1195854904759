//! The typed client against an in-memory host: the exact `world.*` params, rows read
//! into tuples, bad answers, batches both ways, `Commands` as bulk calls (and the
//! fallback without them), typed events in the manifest.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{run, run_with};
use crate::prelude::*;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Pos {
    x: f32,
    y: f32,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Vel {
    x: f32,
}

#[derive(Serialize, Deserialize)]
struct Critter {}

#[derive(Serialize, Deserialize)]
struct Dead;

#[derive(Deserialize)]
struct Tick {
    frame: u64,
}

impl Event for Tick {
    const NAME: &'static str = "game.tick";
}

#[derive(Deserialize)]
struct Key {
    key: String,
}

impl Event for Key {
    const NAME: &'static str = "game.key";
}

crate::type_paths! {
    Component for Pos = "game::Pos";
    Component for Vel = "game::Vel";
    Component for Critter = "game::Critter";
    Component for Dead = "game::Dead";
}

const DOUBLE: HostMethod<[i64], i64> = HostMethod::new("host.double");

#[derive(Default)]
struct Typed {
    seen: State<(u64, String)>,
}

type Row = (Entity, Pos, Option<Vel>, bool);

impl Plugin for Typed {
    fn methods(methods: &mut Methods<Self>) {
        methods
            .add("rows", |_: &'static Self| async move {
                let rows: Vec<Row> = world::query::<
                    (Entity, Pos, Option<Vel>, Has<Dead>),
                    (With<Critter>, Without<Dead>),
                >()
                .await?;
                Ok(format!("{rows:?}"))
            })
            .add("bulk_rows", |_: &'static Self| async move {
                let rows = world::query::<(Pos, Entity), With<Critter>>().await?;
                Ok(format!("{rows:?}"))
            })
            .add("get", |_: &'static Self| async move {
                let pos = world::get::<Pos>(Entity(7)).await?;
                Ok(format!("{pos:?}"))
            })
            .add("pair", |_: &'static Self| async move {
                let (a, b) = host::batch(|| (DOUBLE.call(&[1]), DOUBLE.call(&[2])));
                Ok(a.await? + b.await?)
            })
            .add("flush", |_: &'static Self| async move {
                let mut commands = world::Commands::new();
                commands.mutate(Entity(1), &Vel { x: 1.0 })?;
                commands.mutate_field::<Pos>(Entity(1), ".x", &5.0)?;
                commands.mutate(Entity(2), &Vel { x: 2.0 })?;
                commands.remove::<Dead>(Entity(3));
                commands.flush().await
            })
            .add("flush_packed", |_: &'static Self| async move {
                let mut commands = world::Commands::new();
                commands.mutate_packed(Entity(1), &Vel { x: 1.0 })?;
                // Fails to serialize: the values added before it stay.
                let refused = commands
                    .mutate_field_packed::<Vel>(Entity(9), "", &Unwritable)
                    .is_err();
                commands.mutate_packed(Entity(2), &Vel { x: 2.0 })?;
                commands.mutate_field_packed::<Pos>(Entity(1), ".x", &5.0_f32)?;
                let sent = commands.flush().await?;
                Ok((refused, sent))
            })
            .add("flush_twice", |_: &'static Self| async move {
                let mut commands = world::Commands::new();
                commands.mutate(Entity(1), &Vel { x: 1.0 })?;
                commands.flush().await?;
                commands.mutate(Entity(2), &Vel { x: 2.0 })?;
                commands.flush().await
            })
            .add("bulk_rows_twice", |_: &'static Self| async move {
                world::query::<(Pos, Entity), With<Critter>>().await?;
                let rows = world::query::<(Pos, Entity), With<Critter>>().await?;
                Ok(format!("{rows:?}"))
            })
            .add(
                "seen",
                |this: &'static Self| async move { Ok(this.seen.get()) },
            )
            .on::<Tick>(|this: &'static Self, tick: Tick| async move {
                this.seen.with(|s| s.0 = tick.frame);
            })
            .on::<Key>(Self::key);
    }

    fn events() -> &'static [&'static str] {
        &["game.other", "game.key"]
    }
}

impl Typed {
    async fn key(&'static self, key: Key) -> Result<(), Error> {
        self.seen.with(|s| s.1 = key.key);
        Ok(())
    }
}

/// A host that answers each request of each line with `answer(request)`, a batch with a
/// batch; records every line it got.
fn host_of<'a>(
    lines: &'a mut Vec<String>,
    mut answer: impl FnMut(&Value) -> Value + 'a,
) -> impl FnMut(&str) -> String + 'a {
    move |written| {
        let mut out = String::new();
        for line in written.lines() {
            let message: Value = serde_json::from_str(line).unwrap();
            let mut reply = |m: &Value| {
                let mut r = answer(m);
                r["jsonrpc"] = json!("2.0");
                r["id"] = m["id"].clone();
                r
            };
            match &message {
                Value::Array(batch) => {
                    lines.push(line.to_owned());
                    let replies: Vec<Value> = batch.iter().map(&mut reply).collect();
                    out += &format!("{}\n", Value::Array(replies));
                }
                m if m.get("method").is_some() => {
                    lines.push(line.to_owned());
                    out += &format!("{}\n", reply(m));
                }
                _ => {}
            }
        }
        out
    }
}

fn result_of(out: &str) -> Value {
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    last
}

#[test]
fn a_typed_query_sends_brp_params_and_reads_tuples() {
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rows\"}\n",
        1 << 20,
        host_of(&mut lines, |_| {
            json!({"result": [
                {"entity": 4, "components": {"game::Pos": {"x": 1.0, "y": 2.0}, "game::Vel": {"x": 3.0}}, "has": {"game::Dead": false}},
                {"entity": 5, "components": {"game::Pos": {"x": 0.5, "y": 0.0, "z": 9}}, "has": {"game::Dead": true}},
            ]})
        }),
    );
    assert_eq!(
        lines[0],
        concat!(
            r#"{"jsonrpc":"2.0","id":1,"method":"world.query","params":{"data":{"components":["game::Pos"],"#,
            r#""option":["game::Vel"],"has":["game::Dead"]},"filter":{"without":["game::Dead"],"with":["game::Critter"]},"strict":true}}"#
        )
    );
    assert_eq!(
        result_of(&out)["result"],
        "[(Entity(4), Pos { x: 1.0, y: 2.0 }, Some(Vel { x: 3.0 }), false), (Entity(5), Pos { x: 0.5, y: 0.0 }, None, true)]"
    );
}

#[test]
fn an_answer_of_the_wrong_shape_names_the_type_and_the_field() {
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rows\"}\n",
        1 << 20,
        host_of(
            &mut lines,
            |_| json!({"result": [{"entity": 4, "components": {"game::Pos": {"x": 1.0}}}]}),
        ),
    );
    let error = &result_of(&out)["error"];
    assert_eq!(error["code"], -32603);
    assert_eq!(
        error["message"],
        "the host's result did not have the expected type: game::Pos: missing field `y` at line 1 column 37"
    );
    // A required component missing from a row, and rows that are not rows.
    for (answer, message) in [
        (
            json!([{"entity": 4, "components": {}}]),
            "the host's result did not have the expected type: game::Pos: entity 4 has no value for it at line 1 column 29",
        ),
        (
            json!({"entity": 4}),
            "the host's result did not have the expected type: invalid type: map, expected a list of rows at line 1 column 0",
        ),
        (
            json!([{"components": {}}]),
            "the host's result did not have the expected type: missing field `entity` at line 1 column 18",
        ),
    ] {
        let mut lines = Vec::new();
        let (out, _) = run_with::<Typed>(
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rows\"}\n",
            1 << 20,
            host_of(&mut lines, |_| json!({ "result": answer.clone() })),
        );
        assert_eq!(result_of(&out)["error"]["message"], message, "{answer}");
    }
    // The host's own error reaches the caller unchanged.
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"get\"}\n",
        1 << 20,
        host_of(
            &mut lines,
            |_| json!({"error": {"code": -23401, "message": "Entity 7 does not exist"}}),
        ),
    );
    assert_eq!(
        lines[0],
        r#"{"jsonrpc":"2.0","id":1,"method":"world.get_components","params":{"entity":7,"components":["game::Pos"],"strict":true}}"#
    );
    assert_eq!(result_of(&out)["error"]["code"], -23401);
}

#[test]
fn typed_get_reads_the_strict_answer() {
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"get\"}\n",
        1 << 20,
        host_of(
            &mut lines,
            |_| json!({"result": {"game::Pos": {"x": 1.5, "y": -1.0}}}),
        ),
    );
    assert_eq!(result_of(&out)["result"], "Pos { x: 1.5, y: -1.0 }");
}

#[test]
fn a_batch_goes_out_as_one_array_line_and_its_array_answer_is_routed() {
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pair\"}\n",
        1 << 20,
        host_of(
            &mut lines,
            |m| json!({"result": m["params"][0].as_i64().unwrap() * 2}),
        ),
    );
    assert_eq!(
        lines,
        [concat!(
            r#"[{"jsonrpc":"2.0","id":1,"method":"host.double","params":[1]},"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"host.double","params":[2]}]"#
        )]
    );
    assert_eq!(
        out.lines().last(),
        Some(r#"{"jsonrpc":"2.0","id":1,"result":6}"#)
    );
}

#[test]
fn batches_of_one_and_of_none_and_nested() {
    #[derive(Default)]
    struct Batches;
    impl Plugin for Batches {
        fn methods(methods: &mut Methods<Self>) {
            methods.add("go", |_: &'static Self| async move {
                let one = host::batch(|| DOUBLE.call(&[5]));
                host::batch(|| {});
                let (a, (b, c)) = host::batch(|| {
                    let a = DOUBLE.call(&[1]);
                    host::notify("game.ping", &())?;
                    let inner = host::batch(|| (DOUBLE.call(&[2]), DOUBLE.call(&[3])));
                    Ok::<_, Error>((a, inner))
                })?;
                Ok(one.await? + a.await? + b.await? + c.await?)
            });
        }
    }
    let mut lines = Vec::new();
    let (out, _) = run_with::<Batches>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"go\"}\n",
        1 << 20,
        host_of(
            &mut lines,
            |m| json!({"result": m["params"][0].as_i64().unwrap_or(0) * 2}),
        ),
    );
    assert_eq!(
        lines,
        [
            r#"{"jsonrpc":"2.0","id":1,"method":"host.double","params":[5]}"#,
            concat!(
                r#"[{"jsonrpc":"2.0","id":2,"method":"host.double","params":[1]},"#,
                r#"{"jsonrpc":"2.0","method":"game.ping"},"#,
                r#"{"jsonrpc":"2.0","id":3,"method":"host.double","params":[2]},"#,
                r#"{"jsonrpc":"2.0","id":4,"method":"host.double","params":[3]}]"#
            ),
        ]
    );
    assert_eq!(
        out.lines().last(),
        Some(r#"{"jsonrpc":"2.0","id":1,"result":22}"#)
    );
}

#[test]
fn commands_flush_as_bulk_calls_in_one_batch() {
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"flush\"}\n",
        1 << 20,
        host_of(&mut lines, |_| json!({ "result": null })),
    );
    assert_eq!(
        lines,
        [concat!(
            r#"[{"jsonrpc":"2.0","id":1,"method":"bulk.mutate_components","params":{"component":"game::Vel","path":"","entities":[[1,{"x":1.0}],[2,{"x":2.0}]]}},"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"bulk.mutate_components","params":{"component":"game::Pos","path":".x","entities":[[1,5.0]]}},"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"world.remove_components","params":{"entity":3,"components":["game::Dead"]}}]"#
        )]
    );
    assert_eq!(
        out.lines().last(),
        Some(r#"{"jsonrpc":"2.0","id":1,"result":4}"#)
    );
    // The params are the protocol's shapes.
    let batch: Vec<Value> = serde_json::from_str(&lines[0]).unwrap();
    let _: crate::protocol::brp::BulkMutateComponentsParams =
        serde_json::from_value(batch[0]["params"].clone()).unwrap();
}

/// A value postcard cannot write.
struct Unwritable;

impl Serialize for Unwritable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("not today"))
    }
}

#[test]
fn packed_commands_send_postcard_rows_and_keep_what_was_added_before_a_failure() {
    use crate::protocol::brp::{BulkMutateComponentsParams, from_packed};
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"flush_packed\"}\n",
        1 << 20,
        host_of(&mut lines, |_| json!({ "result": null })),
    );
    assert_eq!(
        out.lines().last(),
        Some(r#"{"jsonrpc":"2.0","id":1,"result":[true,3]}"#)
    );
    // Each group on a line of its own, its rows in the request's attachment, whose
    // length the params give.
    assert_eq!(lines.len(), 2, "{lines:?}");
    let attached = |line: &str| {
        let mut request: Value = serde_json::from_str(line).unwrap();
        let packed = request["@attachment"].take();
        let params: BulkMutateComponentsParams =
            serde_json::from_value(request["params"].take()).unwrap();
        let packed = packed.as_str().unwrap().to_owned();
        let len = crate::protocol::brp::packed::unpack(&packed).unwrap().len();
        assert_eq!(params.attached, Some(len as u64), "{line}");
        assert_eq!((params.entities.len(), params.packed.as_ref()), (0, None));
        (params, packed)
    };
    let (vel, packed) = attached(&lines[0]);
    assert_eq!(vel.component, "game::Vel");
    let rows: Vec<(u64, Vel)> = from_packed(&packed).unwrap();
    assert_eq!(rows, [(1, Vel { x: 1.0 }), (2, Vel { x: 2.0 })]);
    let (pos, packed) = attached(&lines[1]);
    assert_eq!(pos.path, ".x");
    let rows: Vec<(u64, f32)> = from_packed(&packed).unwrap();
    assert_eq!(rows, [(1, 5.0)]);

    // A host without bulk calls: packed writes have no one-by-one form; the error is
    // the mod's to see.
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"flush_packed\"}\n",
        1 << 20,
        host_of(
            &mut lines,
            |_| json!({"error": {"code": -32601, "message": "Method not found"}}),
        ),
    );
    assert_eq!(result_of(&out)["error"]["code"], -32601);
    assert_eq!(lines.len(), 2, "{lines:?}");
}

#[test]
fn commands_report_a_failed_entity_and_fall_back_without_bulk() {
    // The host reports one entity of a bulk call as failed.
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"flush\"}\n",
        1 << 20,
        host_of(&mut lines, |m| {
            if m["params"]["component"] == "game::Vel" {
                json!({"result": [[2, {"code": -23401, "message": "Entity 2 does not exist"}]]})
            } else {
                json!({ "result": null })
            }
        }),
    );
    let error = &result_of(&out)["error"];
    assert_eq!(error["code"], -23401);
    assert_eq!(
        error["message"],
        "bulk.mutate_components of game::Vel on entity 2: Entity 2 does not exist"
    );

    // A host without bulk calls: the writes are sent again, one call each, in a batch.
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"flush\"}\n",
        1 << 20,
        host_of(&mut lines, |m| {
            if m["method"] == "bulk.mutate_components" {
                json!({"error": {"code": -32601, "message": "Method not found"}})
            } else {
                json!({ "result": null })
            }
        }),
    );
    assert_eq!(
        out.lines().last(),
        Some(r#"{"jsonrpc":"2.0","id":1,"result":4}"#)
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[1],
        concat!(
            r#"[{"jsonrpc":"2.0","id":4,"method":"world.mutate_components","params":{"entity":1,"component":"game::Vel","path":"","value":{"x":1.0}}},"#,
            r#"{"jsonrpc":"2.0","id":5,"method":"world.mutate_components","params":{"entity":2,"component":"game::Vel","path":"","value":{"x":2.0}}},"#,
            r#"{"jsonrpc":"2.0","id":6,"method":"world.mutate_components","params":{"entity":1,"component":"game::Pos","path":".x","value":5.0}}]"#
        )
    );
    // Remembered for the run: the next flush goes one by one at once; a new run tries
    // bulk calls again.
    let mut lines = Vec::new();
    run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"flush_twice\"}\n",
        1 << 20,
        host_of(&mut lines, |m| {
            if m["method"] == "bulk.mutate_components" {
                json!({"error": {"code": -32601, "message": "Method not found"}})
            } else {
                json!({ "result": null })
            }
        }),
    );
    let methods: Vec<&str> = lines
        .iter()
        .map(|l| {
            if l.contains("bulk.mutate") {
                "bulk"
            } else {
                "single"
            }
        })
        .collect();
    assert_eq!(methods, ["bulk", "single", "single"]);
    let mut lines = Vec::new();
    run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"flush\"}\n",
        1 << 20,
        host_of(&mut lines, |_| json!({ "result": null })),
    );
    assert!(lines[0].contains("bulk.mutate_components"), "{lines:?}");
}

#[test]
fn typed_events_are_listed_and_dispatched() {
    let out = run::<Typed>(concat!(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"plugin.init\"}\n",
        "{\"jsonrpc\":\"2.0\",\"method\":\"game.tick\",\"params\":{\"frame\":41,\"dt\":0.1}}\n",
        "{\"jsonrpc\":\"2.0\",\"method\":\"game.tick\",\"params\":{\"dt\":0.1}}\n",
        "{\"jsonrpc\":\"2.0\",\"method\":\"game.key\",\"params\":{\"key\":\"Space\"}}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"seen\"}\n",
    ));
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Plugin::events first, then the handled events not listed there.
    assert_eq!(
        lines[0]["result"]["events"],
        json!(["game.other", "game.key", "game.tick"])
    );
    // The tick without a frame was ignored (logged), the others handled.
    assert_eq!(lines[1]["result"], json!([41, "Space"]));
    assert_eq!(lines.len(), 2);
}

#[test]
fn batch_answers_in_the_fixed_form_and_mixed_ones_reach_their_calls() {
    #[derive(Default)]
    struct Pairs;
    impl Plugin for Pairs {
        fn methods(methods: &mut Methods<Self>) {
            methods.add("go", |_: &'static Self| async move {
                let (a, b) = host::batch(|| (DOUBLE.call(&[1]), DOUBLE.call(&[2])));
                let (c, d) = host::batch(|| (DOUBLE.call(&[3]), DOUBLE.call(&[4])));
                let d = d.await.map_err(|e| e.code());
                Ok(format!(
                    "{:?} {:?} {:?} {d:?}",
                    a.await?,
                    b.await?,
                    c.await?
                ))
            });
        }
    }
    let mut round = 0;
    let (out, _) = run_with::<Pairs>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"go\"}\n",
        1 << 20,
        |_| {
            round += 1;
            match round {
                // The host's own form, answered in reverse order.
                1 => concat!(
                    r#"[{"jsonrpc":"2.0","id":2,"result":4},"#,
                    r#"{"jsonrpc":"2.0","id":1,"result":2}]"#,
                    "\n"
                )
                .to_owned(),
                // An error among the answers: the full parser.
                2 => concat!(
                    r#"[{"jsonrpc":"2.0","id":3,"result":6},"#,
                    r#"{"jsonrpc":"2.0","id":4,"error":{"code":-32050,"message":"no"}}]"#,
                    "\n"
                )
                .to_owned(),
                _ => String::new(),
            }
        },
    );
    assert_eq!(
        out.lines().last(),
        Some(r#"{"jsonrpc":"2.0","id":1,"result":"2 4 6 Err(-32050)"}"#)
    );
}

#[test]
fn a_query_of_components_alone_goes_to_bulk_query_or_falls_back() {
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"bulk_rows\"}\n",
        1 << 20,
        host_of(
            &mut lines,
            |_| json!({"result": [[4, [{"x": 1.0, "y": 2.0}]], [5, [{"x": 3.0, "y": 4.0}, "extra"]]]}),
        ),
    );
    assert_eq!(
        lines[0],
        r#"{"jsonrpc":"2.0","id":1,"method":"bulk.query","params":{"components":["game::Pos"],"filter":{"without":[],"with":["game::Critter"]}}}"#
    );
    assert_eq!(
        result_of(&out)["result"],
        "[(Pos { x: 1.0, y: 2.0 }, Entity(4)), (Pos { x: 3.0, y: 4.0 }, Entity(5))]"
    );
    // A bad value names the type and the field.
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"bulk_rows\"}\n",
        1 << 20,
        host_of(&mut lines, |_| json!({"result": [[4, [{"x": 1.0}]]]})),
    );
    let message = result_of(&out)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("game::Pos: missing field `y`"),
        "{message}"
    );
    // Without bulk.query: world.query, and for the rest of the run at once.
    let mut lines = Vec::new();
    let (out, _) = run_with::<Typed>(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"bulk_rows_twice\"}\n",
        1 << 20,
        host_of(&mut lines, |m| {
            if m["method"] == "bulk.query" {
                json!({"error": {"code": -32601, "message": "Method not found"}})
            } else {
                json!({"result": [{"entity": 4, "components": {"game::Pos": {"x": 1.0, "y": 2.0}}}]})
            }
        }),
    );
    let methods: Vec<&str> = lines
        .iter()
        .map(|l| {
            if l.contains("bulk.query") {
                "bulk"
            } else {
                "brp"
            }
        })
        .collect();
    assert_eq!(methods, ["bulk", "brp", "brp"]);
    assert_eq!(
        result_of(&out)["result"],
        "[(Pos { x: 1.0, y: 2.0 }, Entity(4))]"
    );
}

#[test]
fn a_typed_watch_reads_only_its_own_notifications_and_names_a_misfit() {
    use crate::world::{Changed, Watch, WatchChanged};
    let watch = Watch::<Changed<Pos>>::from_id(3);
    let note = |text: &str| serde_json::from_str::<WatchChanged>(text).unwrap();
    assert!(
        watch
            .read(&note(
                r#"{"watch":4,"result":{"components":{},"removed":["game::Pos"]}}"#
            ))
            .is_none(),
        "another watch's"
    );
    assert_eq!(
        watch
            .read(&note(
                r#"{"watch":3,"result":{"components":{"game::Pos":{"x":1.0,"y":2.0}},"removed":[]}}"#
            ))
            .unwrap()
            .unwrap(),
        Changed::Changed(Pos { x: 1.0, y: 2.0 })
    );
    let misfit = watch
        .read(&note(
            r#"{"watch":3,"result":{"components":{"game::Pos":{"x":1.0}},"removed":[]}}"#,
        ))
        .unwrap()
        .unwrap_err();
    assert_eq!(misfit.code(), -32603);
    assert_eq!(
        misfit.message(),
        "the answer to world.get_components+watch did not fit game::Pos: missing field `y` at line 1 column 9"
    );
    let ended = watch
        .read(&note(
            r#"{"watch":3,"error":{"code":-23401,"message":"Entity 9 not found: the watch 3 ended"}}"#,
        ))
        .unwrap()
        .unwrap_err();
    assert_eq!(ended.code(), -23401);
    assert_eq!(ended.message(), "Entity 9 not found: the watch 3 ended");
}
