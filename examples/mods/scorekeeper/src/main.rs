//! Keeps a score in its own state and shows it on the game's screen.
//!
//! - Every time a critter hits a wall the game sends a `game.bounce` event; the score
//!   goes up by one.
//! - The score is shown through the game's host method `game.hud`.
//! - The score survives a hot reload: `plugin.shutdown` hands it to the game, which
//!   gives it to the next instance's `plugin.init` as its state.
//! - `score` answers the current score.

use std::cell::Cell;

use bevy_wasmi_plugins_pdk::prelude::*;
use serde::Serialize;

#[derive(Default)]
struct Scorekeeper {
    score: Cell<u64>,
    /// The score last shown, so a burst of bounces makes one `game.hud` call at a time.
    shown: Cell<Option<u64>>,
    showing: Cell<bool>,
}

#[derive(Serialize)]
struct Hud {
    text: String,
}

impl Plugin for Scorekeeper {
    fn methods(methods: &mut Methods<Self>) {
        methods.add("score", |this: &'static Self| async move {
            Ok(this.score.get())
        });
    }

    fn events() -> &'static [&'static str] {
        &["game.bounce"]
    }

    async fn init(&'static self, init: Init) -> Result<(), Error> {
        if let Some(score) = init.state::<u64>()? {
            log::info!("carrying on from score {score}");
            self.score.set(score);
        }
        self.show().await;
        Ok(())
    }

    async fn notification(&'static self, method: &str, _params: Params<'_>) {
        if method == "game.bounce" {
            self.score.set(self.score.get() + 1);
            self.show().await;
        }
    }

    async fn shutdown(&'static self) -> Result<Option<Json>, Error> {
        Ok(Some(Json::of(&self.score.get())?))
    }
}

impl Scorekeeper {
    /// Shows the score until the shown one is the current one.
    async fn show(&'static self) {
        if self.showing.replace(true) {
            return; // the running call shows the newest score when it is done
        }
        while self.shown.get() != Some(self.score.get()) {
            let score = self.score.get();
            let hud = Hud {
                text: format!("score {score}"),
            };
            if let Err(error) = host::call::<()>("game.hud", &hud).await {
                log::warn!("game.hud failed: {error}");
                break;
            }
            self.shown.set(Some(score));
        }
        self.showing.set(false);
    }
}

register_plugin!(Scorekeeper);
