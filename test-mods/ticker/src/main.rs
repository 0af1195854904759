//! Benchmark mod for the Bevy driver: on every `game.tick` event it calls the host's
//! `game.frame` once and remembers the answer; `last` returns it.

use std::cell::Cell;

use bevy_wasmi_plugins_pdk::prelude::*;

#[derive(Default)]
struct Ticker {
    last: Cell<u64>,
}

impl Plugin for Ticker {
    fn methods(methods: &mut Methods<Self>) {
        methods.add(
            "last",
            |this: &'static Self| async move { Ok(this.last.get()) },
        );
    }

    fn events() -> &'static [&'static str] {
        &["game.tick"]
    }

    async fn notification(&'static self, method: &str, _params: Params<'_>) {
        if method == "game.tick" {
            match host::call::<u64>("game.frame", &()).await {
                Ok(frame) => self.last.set(frame),
                Err(error) => log::warn!("game.frame failed: {error}"),
            }
        }
    }
}

register_plugin!(Ticker);
