//! Test mod for the soak (`examples/soak.rs`): one mod that misbehaves in the way its
//! `plugin.init` config names, so that a game can run many hostile instances of one
//! `.wasm` side by side.
//!
//! The config is `{"mode": M, …}` (see [`Config`]). Every mode but `calm` and `deaf`
//! starts misbehaving on the first `game.tick` event after `plugin.init`, so the mod has
//! started (answered `plugin.init` with its manifest) before it turns on the host:
//!
//! | mode | what it does |
//! |---|---|
//! | `calm` | nothing (counts ticks) |
//! | `garbage` | leaves the PDK's loop and answers every line the host sends with an invalid line (not JSON, not JSON-RPC, an answer to no call, invalid UTF-8, an empty batch…): an error ping-pong |
//! | `notify_flood` | writes `burst` notifications at a time to stdout, sleeps a millisecond, and again, forever |
//! | `request_flood` | writes `burst` requests for the host method `flood_method` at a time, never reads the answers, sleeps a millisecond, and again, forever |
//! | `spin` | an endless loop that never waits for input |
//! | `memory_bomb` | allocates (and touches) a MiB at a time until memory runs out |
//! | `panic` | panics on its `panic_after`-th tick |
//! | `deaf` | behaves, but never answers `plugin.shutdown` (its handler never finishes) |
//! | `world` | every tick, one `world.*` call with huge or deeply nested params, in turn: a `blob`-byte string into `component`, reading it back, a filter and a component value nested `depth` deep, a query naming thousands of unknown types, a mutation with a huge path |
//!
//! The raw modes write to stdout themselves (`std::io::stdout`), beside the PDK.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::io::{BufRead, Write};
use std::time::Duration;

use bevy_wasmi_plugins_pdk::prelude::*;
use serde::Deserialize;
use serde_json::json;

/// What the mod does, from `plugin.init`'s config.
#[derive(Deserialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Mode {
    #[default]
    Calm,
    Garbage,
    NotifyFlood,
    RequestFlood,
    Spin,
    MemoryBomb,
    Panic,
    Deaf,
    World,
}

/// `plugin.init`'s config; every member may be left out.
#[derive(Deserialize, Clone, Debug)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// The misbehaviour.
    mode: Mode,
    /// `panic`: the tick to panic on.
    panic_after: u64,
    /// The floods: messages written between two sleeps.
    burst: usize,
    /// `request_flood`: the host method it floods.
    flood_method: String,
    /// `world`: the component type path it writes (read and write must be allowed).
    component: String,
    /// `world`: bytes of the huge string.
    blob: usize,
    /// `world`: nesting depth of the deep params.
    depth: usize,
    /// `world`: unknown type paths in the huge query.
    names: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Calm,
            panic_after: 20,
            burst: 2000,
            flood_method: "game.flood".to_owned(),
            component: "soak::Blob".to_owned(),
            blob: 600_000,
            depth: 100_000,
            names: 20_000,
        }
    }
}

#[derive(Default)]
struct Hostile {
    config: RefCell<Config>,
    ticks: Cell<u64>,
    /// `world`: a call is in flight (ticks meanwhile are skipped, so calls do not pile up).
    busy: Cell<bool>,
    /// `world`: the next call, in turn.
    step: Cell<u64>,
    /// `world`: the entity it writes to.
    entity: Cell<Option<u64>>,
}

impl Plugin for Hostile {
    fn methods(methods: &mut Methods<Self>) {
        methods
            .add("ticks", |this: &'static Self| async move {
                Ok(this.ticks.get())
            })
            .add("mode", |this: &'static Self| async move {
                Ok(format!("{:?}", this.config.borrow().mode))
            });
    }

    fn events() -> &'static [&'static str] {
        &["game.tick"]
    }

    async fn init(&'static self, init: Init) -> Result<(), Error> {
        let config: Option<Config> = init.config()?;
        *self.config.borrow_mut() = config.unwrap_or_default();
        Ok(())
    }

    async fn notification(&'static self, method: &str, _params: Params<'_>) {
        if method != "game.tick" {
            return;
        }
        let ticks = self.ticks.get() + 1;
        self.ticks.set(ticks);
        let config = self.config.borrow().clone();
        match config.mode {
            Mode::Calm | Mode::Deaf => {}
            Mode::Garbage => garbage(),
            Mode::NotifyFlood => notify_flood(config.burst),
            Mode::RequestFlood => request_flood(config.burst, &config.flood_method),
            Mode::Spin => spin(),
            Mode::MemoryBomb => memory_bomb(),
            Mode::Panic => {
                if ticks >= config.panic_after {
                    panic!("hostile: panic on purpose on tick {ticks}");
                }
            }
            Mode::World => {
                if !self.busy.replace(true) {
                    self.world_step(&config).await;
                    self.busy.set(false);
                }
            }
        }
    }

    async fn shutdown(&'static self) -> Result<Option<Json>, Error> {
        if self.config.borrow().mode == Mode::Deaf {
            // Never answers: the host must reload the mod anyway.
            std::future::pending::<()>().await;
        }
        Ok(None)
    }
}

/// The invalid lines `garbage` answers with, in turn.
const GARBAGE: [&[u8]; 7] = [
    b"this is not JSON",
    b"{\"not\":\"json-rpc\"}",
    b"{\"jsonrpc\":\"2.0\",\"id\":987654321,\"result\":\"an answer to no call\"}",
    b"\xff\xfe invalid UTF-8 \xc3\x28",
    b"[]",
    b"{\"jsonrpc\":\"1.0\",\"method\":7}",
    b"[1,2,3]",
];

/// Answers every line on stdin with an invalid one, forever (first one unasked).
fn garbage() -> ! {
    let stdin = std::io::stdin();
    let mut stdin = stdin.lock();
    let mut out = std::io::stdout();
    let mut line = Vec::new();
    let mut n = 0usize;
    loop {
        let mut bad = GARBAGE[n % GARBAGE.len()].to_vec();
        bad.push(b'\n');
        let _ = out.write_all(&bad);
        let _ = out.flush();
        n += 1;
        line.clear();
        // Input closed: the host is done with it.
        if let Ok(0) = stdin.read_until(b'\n', &mut line) {
            std::process::exit(0);
        }
    }
}

/// `burst` notifications at a time, a millisecond's sleep between bursts, forever.
fn notify_flood(burst: usize) -> ! {
    let mut out = std::io::stdout();
    let mut buf = Vec::with_capacity(burst * 64);
    let mut i = 0u64;
    loop {
        buf.clear();
        for _ in 0..burst {
            let _ = writeln!(
                buf,
                r#"{{"jsonrpc":"2.0","method":"hostile.flood","params":[{i}]}}"#
            );
            i += 1;
        }
        let _ = out.write_all(&buf);
        let _ = out.flush();
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `burst` requests at a time whose answers it never reads, a millisecond's sleep
/// between bursts, forever.
fn request_flood(burst: usize, method: &str) -> ! {
    let mut out = std::io::stdout();
    let mut buf = Vec::with_capacity(burst * 64);
    // Far from the ids the PDK gives its own calls.
    let mut id = 1u64 << 40;
    loop {
        buf.clear();
        for _ in 0..burst {
            let _ = writeln!(
                buf,
                r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":[{id}]}}"#
            );
            id += 1;
        }
        let _ = out.write_all(&buf);
        let _ = out.flush();
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A busy loop the optimizer cannot remove, that never waits for input.
fn spin() -> ! {
    let mut i = 0u64;
    loop {
        i = black_box(i.wrapping_add(1));
    }
}

/// Allocates and touches a MiB at a time, keeping all of it.
fn memory_bomb() -> ! {
    let mut kept = Vec::new();
    loop {
        kept.push(black_box(vec![1u8; 1 << 20]));
    }
}

/// Writes one raw request line (for params nested deeper than serde_json builds).
fn raw_request(id: &str, method: &str, params: &[u8]) {
    let mut line = Vec::with_capacity(params.len() + 64);
    line.extend_from_slice(br#"{"jsonrpc":"2.0","id":""#);
    line.extend_from_slice(id.as_bytes());
    line.extend_from_slice(br#"","method":""#);
    line.extend_from_slice(method.as_bytes());
    line.extend_from_slice(br#"","params":"#);
    line.extend_from_slice(params);
    line.extend_from_slice(b"}\n");
    let mut out = std::io::stdout();
    let _ = out.write_all(&line);
    let _ = out.flush();
}

/// `[[[…0…]]]`, `depth` deep.
fn deep_array(depth: usize) -> Vec<u8> {
    let mut value = Vec::with_capacity(2 * depth + 1);
    value.resize(depth, b'[');
    value.push(b'0');
    value.resize(2 * depth + 1, b']');
    value
}

impl Hostile {
    /// The entity it writes to: spawned once, or found again after a restart (the
    /// spawn quota still counts the entity an earlier instance spawned).
    async fn entity(&'static self, component: &str) -> Option<u64> {
        if let Some(entity) = self.entity.get() {
            return Some(entity);
        }
        let spawned = host::call_raw(
            "world.spawn_entity",
            &json!({ "components": { component: { "data": "seed" } } }),
        )
        .await;
        let entity = match spawned {
            Ok(answer) => answer
                .parse::<serde_json::Value>()
                .ok()
                .and_then(|v| v["entity"].as_u64()),
            Err(error) => {
                log::info!("spawn refused ({}), looking for an entity", error.message());
                let rows = host::call_raw(
                    "world.query",
                    &json!({ "data": { "components": [component] } }),
                )
                .await
                .ok()?;
                rows.parse::<serde_json::Value>()
                    .ok()
                    .and_then(|v| v[0]["entity"].as_u64())
            }
        };
        self.entity.set(entity);
        entity
    }

    /// One huge or deep `world.*` call, in turn.
    async fn world_step(&'static self, config: &Config) {
        let step = self.step.get();
        self.step.set(step + 1);
        let component = config.component.as_str();
        let Some(entity) = self.entity(component).await else {
            log::warn!("no entity to write to");
            return;
        };
        let outcome = match step % 6 {
            0 => {
                let blob = "x".repeat(config.blob);
                host::call_raw(
                    "world.insert_components",
                    &json!({ "entity": entity, "components": { component: { "data": blob } } }),
                )
                .await
            }
            1 => {
                host::call_raw(
                    "world.get_components",
                    &json!({ "entity": entity, "components": [component] }),
                )
                .await
            }
            2 => {
                let mut params = br#"{"data":{"components":[]},"filter":{"with":"#.to_vec();
                params.extend_from_slice(&deep_array(config.depth));
                params.extend_from_slice(b"}}");
                raw_request(&format!("deep-filter-{step}"), "world.query", &params);
                return;
            }
            3 => {
                let mut params =
                    format!(r#"{{"entity":{entity},"components":{{"{component}":{{"data":"#)
                        .into_bytes();
                params.extend_from_slice(&deep_array(config.depth));
                params.extend_from_slice(b"}}}");
                raw_request(
                    &format!("deep-value-{step}"),
                    "world.insert_components",
                    &params,
                );
                return;
            }
            4 => {
                let names: Vec<String> = (0..config.names)
                    .map(|i| format!("nowhere::Unknown{i}"))
                    .collect();
                host::call_raw(
                    "world.query",
                    &json!({ "data": { "components": names, "has": names } }),
                )
                .await
            }
            _ => {
                let path = ".data".repeat(config.blob / 5);
                host::call_raw(
                    "world.mutate_components",
                    &json!({ "entity": entity, "component": component, "path": path, "value": 1 }),
                )
                .await
            }
        };
        if let Err(error) = outcome {
            log::debug!("step {step}: {}", error.message());
        }
    }
}

register_plugin!(Hostile);
