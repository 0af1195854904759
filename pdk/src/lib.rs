//! Plugin Development Kit for [`bevy_wasmi_plugins`] mods written in Rust.
//!
//! A mod is a `wasm32-wasip1` program that talks [JSON-RPC 2.0] with the game over its
//! stdin and stdout, one message per line (see [`protocol`]). This crate is everything
//! such a program needs: implement [`Plugin`] for a type, add typed methods and typed
//! event handlers, reach the game's ECS with the typed client ([`world`], [`ecs`]), and
//! let [`register_plugin!`] write `main`. (The README's "Writing a mod" is this example.)
//!
//! ```no_run
//! use bevy_wasmi_plugins_pdk::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! // The game's API, declared once (the `modding` example publishes these in its
//! // `game_api` crate, which its mods depend on).
//! #[derive(Clone, Copy, Serialize, Deserialize)]
//! struct Velocity { x: f32, y: f32 }
//! #[derive(Serialize, Deserialize)]
//! struct Critter { radius: f32 }
//! impl Component for Velocity { const TYPE_PATH: &'static str = "game::Velocity"; }
//! impl Component for Critter { const TYPE_PATH: &'static str = "game::Critter"; }
//!
//! #[derive(Deserialize)]
//! struct Tick { frame: u64 }
//! impl Event for Tick { const NAME: &'static str = "game.tick"; }
//!
//! #[derive(Serialize)]
//! struct Hud { text: String }
//! const GAME_HUD: HostMethod<Hud, ()> = HostMethod::new("game.hud");
//! const GAME_TIME_OF_DAY: HostMethod<(), String> = HostMethod::new("game.time_of_day");
//!
//! // The mod.
//! #[derive(Default)]
//! struct Greeter { greetings: State<u32> }
//!
//! #[derive(Deserialize)]
//! struct Greet { name: String }
//!
//! impl Plugin for Greeter {
//!     fn methods(methods: &mut Methods<Self>) {
//!         methods.add("greet", Self::greet).on::<Tick>(Self::tick);
//!     }
//! }
//!
//! impl Greeter {
//!     async fn greet(&'static self, p: Greet) -> Result<String, Error> {
//!         let time_of_day = GAME_TIME_OF_DAY.call(&()).await?; // ask the game
//!         let n = self.greetings.with(|n| { *n += 1; *n }); // no borrow across an await
//!         log::info!("greeted {} ({n} so far)", p.name);
//!         Ok(format!("Good {time_of_day}, {}!", p.name))
//!     }
//!
//!     async fn tick(&'static self, tick: Tick) -> Result<(), Error> {
//!         if tick.frame % 60 != 0 {
//!             return Ok(());
//!         }
//!         // Read every critter's velocity, slow them all down in one message.
//!         let mut writes = world::Commands::new();
//!         for (entity, v) in world::query::<(Entity, Velocity), With<Critter>>().await? {
//!             writes.mutate(entity, &Velocity { x: v.x * 0.9, y: v.y * 0.9 })?;
//!         }
//!         let slowed = writes.flush().await?;
//!         GAME_HUD.call(&Hud { text: format!("slowed {slowed} critters") }).await
//!     }
//! }
//!
//! register_plugin!(Greeter);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip1` and drop the `.wasm` into
//! the game's `assets/mods/`.
//!
//! # What the PDK does for you
//!
//! - **Lifecycle.** `plugin.init` calls [`Plugin::init`] and answers with the mod's
//!   manifest: `{"name", "version", "methods", "events"}` (the crate's name and version,
//!   the names added in [`Plugin::methods`], sorted, and [`Plugin::events`] followed by
//!   the events handled with [`Methods::on`]).
//!   `plugin.shutdown` calls [`Plugin::shutdown`] and answers `{"state": …}`, which the
//!   next instance receives in [`Init::state`].
//! - **Concurrency.** Every request runs as its own task on a small single-threaded
//!   executor, so a handler awaiting [`host::call`] does not hold up other requests, and
//!   responses go out in whatever order they finish.
//! - **Errors.** Params that do not match a method's type get `-32602` with serde's
//!   explanation; unknown methods `-32601 Method not found: <name>`; a handler's [`Error`]
//!   becomes the response's error object. Malformed lines, batches and lines over
//!   [`protocol::DEFAULT_MAX_MESSAGE_SIZE`] are answered as the protocol says.
//! - **Bulk.** [`host::batch`] sends the calls made in it as one JSON-RPC batch line, and
//!   [`world::Commands::flush`] sends its writes as one; a batch the host answers with
//!   one array line reaches each call. For many entities, [`world::query_packed`] and
//!   [`world::Commands::mutate_packed`] move the values as postcard bytes instead of
//!   JSON ([the packed form](protocol::brp::packed)): several times less fuel.
//! - **Logging.** [`log`] records go to stderr as `LEVEL target: message` lines.
//! - **Shared shapes.** The `plugin.*` messages are the protocol's
//!   [`lifecycle`](protocol::lifecycle) types, and the game's `world.*` methods take and
//!   return the protocol's [`brp`](protocol::brp) types, the very ones the host uses:
//!
//! ```no_run
//! use bevy_wasmi_plugins_pdk::prelude::*;
//! use bevy_wasmi_plugins_pdk::protocol::brp::{
//!     BRP_QUERY_METHOD, BrpQuery, BrpQueryParams, BrpQueryResponse,
//! };
//!
//! async fn positions() -> Result<BrpQueryResponse, Error> {
//!     let params = BrpQueryParams {
//!         data: BrpQuery {
//!             components: vec!["my_game::Position".into()],
//!             ..BrpQuery::default()
//!         },
//!         ..BrpQueryParams::default()
//!     };
//!     host::call(BRP_QUERY_METHOD, &params).await
//! }
//! ```
//!
//! The PDK uses no threads, no Tokio and no `HashMap` (whose random seed would import
//! `random_get`); on `wasm32-wasip1` it reads and writes with the raw WASI calls and one
//! reused buffer each way. It also builds natively, reading stdin and writing stdout,
//! which is handy for trying a mod by hand:
//!
//! ```text
//! $ printf '{"jsonrpc":"2.0","id":1,"method":"add","params":[2,3]}\n' | cargo run -p echo
//! {"jsonrpc":"2.0","id":1,"result":5}
//! ```
//!
//! [`bevy_wasmi_plugins`]: https://docs.rs/bevy_wasmi_plugins
//! [JSON-RPC 2.0]: https://www.jsonrpc.org/specification

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

mod de;
pub mod ecs;
mod error;
pub mod host;
mod json;
mod logger;
mod mod_state;
mod plugin;
mod runtime;

pub use bevy_wasmi_plugins_protocol as protocol;
pub use ecs::world;
pub use error::Error;
pub use host::HostMethod;
pub use json::{Init, Json, Params};
pub use log;
pub use mod_state::State;
pub use plugin::{Event, EventHandler, EventOutcome, Handler, Methods, Plugin};

/// What a mod names: `use bevy_wasmi_plugins_pdk::prelude::*;`.
pub mod prelude {
    pub use crate::ecs::{Component, Entity, Has, Message, Resource, Trigger, With, Without};
    pub use crate::protocol::ErrorCode;
    pub use crate::{
        Error, Event, HostMethod, Init, Json, Methods, Params, Plugin, State, host, log,
        register_plugin, world,
    };
}

/// Writes the mod's `main`, which runs the plugin until the host closes stdin.
///
/// Give it the type that implements [`Plugin`] (and `Default`). It also installs the
/// logger and records the mod crate's `CARGO_PKG_NAME` and `CARGO_PKG_VERSION` for the
/// manifest.
///
/// ```no_run
/// use bevy_wasmi_plugins_pdk::prelude::*;
///
/// #[derive(Default)]
/// struct Quiet;
///
/// impl Plugin for Quiet {}
///
/// register_plugin!(Quiet);
/// ```
#[macro_export]
macro_rules! register_plugin {
    ($plugin:ty $(,)?) => {
        fn main() {
            $crate::__private::run::<$plugin>($crate::__private::Meta {
                name: ::core::env!("CARGO_PKG_NAME"),
                version: ::core::env!("CARGO_PKG_VERSION"),
            });
        }
    };
    ($($other:tt)*) => {
        ::core::compile_error!(
            "register_plugin! takes one type that implements bevy_wasmi_plugins_pdk::Plugin, \
             e.g. `register_plugin!(MyPlugin);`"
        );
    };
}

/// Items `register_plugin!` and the [`Handler`] impls use; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::runtime::{Executor, Meta, Responder, Task, run};
}

/// Entry points for the fuzz targets in `fuzz/` (built with `cargo fuzz`); not part of
/// the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod __fuzz {
    use std::collections::VecDeque;

    use crate::Plugin;
    use crate::protocol::fast_parse;
    use crate::runtime::io::Io;
    use crate::runtime::lines::{Line, LineReader};
    use crate::runtime::{Meta, serve};

    /// Input read in the given chunks (each read returns at most one chunk); writes are
    /// kept.
    struct Chunks {
        chunks: VecDeque<Vec<u8>>,
        out: Vec<u8>,
    }

    impl Io for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> usize {
            let Some(mut chunk) = self.chunks.pop_front() else {
                return 0;
            };
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            if n < chunk.len() {
                self.chunks.push_front(chunk.split_off(n));
            }
            n
        }

        fn write(&mut self, bytes: &[u8]) -> bool {
            self.out.extend_from_slice(bytes);
            true
        }
    }

    fn chunks(chunks: &[&[u8]]) -> Chunks {
        Chunks {
            // An empty read means the end of input: leave empty chunks out.
            chunks: chunks
                .iter()
                .filter(|c| !c.is_empty())
                .map(|c| c.to_vec())
                .collect(),
            out: Vec::new(),
        }
    }

    /// A line and the attachment that came with it.
    pub type Framed = (Vec<u8>, Option<Vec<u8>>);

    /// The lines (with their attachments) the mod's line reader hands out for input read
    /// in `input`'s chunks, as its main loop reads them (`None`: a frame over `max`
    /// bytes). Panics if the start of a line read from the buffer, finished on the line,
    /// differs from `fast_parse` of the line.
    pub fn lines(max: usize, input: &[&[u8]]) -> Vec<Option<Framed>> {
        let mut io = chunks(input);
        let mut reader = LineReader::new(max);
        let mut out = Vec::new();
        let mut push = |line: Line<'_>, attachment: Option<&[u8]>| {
            out.push(match line {
                Line::Complete(bytes) => Some((bytes.to_vec(), attachment.map(<[u8]>::to_vec))),
                Line::TooLarge => None,
            })
        };
        while reader.fill(&mut io) {
            while !reader.is_empty() {
                let Some((line, head, attachment)) = reader.next_fast_line() else {
                    break;
                };
                if let (Line::Complete(line), Some(head)) = (&line, head)
                    && let Some(fast) = head.finish(line)
                {
                    assert_eq!(
                        format!("{:?}", Some(fast)),
                        format!("{:?}", fast_parse(line)),
                        "the head read from the buffer does not fit its line"
                    );
                }
                push(line, attachment);
            }
        }
        if let Some(line) = reader.rest() {
            push(line, None);
        }
        out
    }

    /// Runs `P`'s main loop on input read in `input`'s chunks, with lines capped at
    /// `max` bytes and a host that never answers; returns what it wrote to stdout.
    pub fn run<P: Plugin>(max: usize, input: &[&[u8]]) -> Vec<u8> {
        let mut io = chunks(input);
        serve::<P>(
            &Meta {
                name: "fuzz",
                version: "0.0.0",
            },
            &mut io,
            max,
        );
        io.out
    }
}
