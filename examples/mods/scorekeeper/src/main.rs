//! Keeps a score in its own state and shows it on the game's screen.
//!
//! - Every time a critter hits a wall the game sends a `game.bounce` event; the score
//!   goes up by one.
//! - The score is shown through the game's host method `game.hud`, at most once a frame
//!   (on `game.tick`, when it changed), however many bounces the frame had.
//! - The score survives a hot reload: `plugin.shutdown` hands it to the game, which
//!   gives it to the next instance's `plugin.init` as its state.
//! - `score` answers the current score.

use bevy_wasmi_plugins_pdk::prelude::*;
use game_api::{Bounce, GAME_HUD, Hud, Tick};

#[derive(Default)]
struct Scorekeeper {
    score: State<Score>,
}

#[derive(Default)]
struct Score {
    points: u64,
    /// The score last sent to the screen.
    shown: Option<u64>,
}

impl Plugin for Scorekeeper {
    fn methods(methods: &mut Methods<Self>) {
        methods
            .add("score", |this: &'static Self| async move {
                Ok(this.score.with(|s| s.points))
            })
            .on::<Bounce>(|this: &'static Self, _: Bounce| async move {
                this.score.with(|s| s.points += 1);
            })
            .on::<Tick>(Self::show);
    }

    async fn init(&'static self, init: Init) -> Result<(), Error> {
        if let Some(points) = init.state::<u64>()? {
            log::info!("carrying on from score {points}");
            self.score.with(|s| s.points = points);
        }
        Ok(())
    }

    async fn shutdown(&'static self) -> Result<Option<Json>, Error> {
        Ok(Some(Json::of(&self.score.with(|s| s.points))?))
    }
}

impl Scorekeeper {
    /// Shows the score if it changed since it was last shown. The score is marked as
    /// shown before the call goes out, so no flag is needed: a later call carries a
    /// newer score, and the game serves calls in the order they were sent.
    async fn show(&'static self, _: Tick) -> Result<(), Error> {
        let text = self.score.with(|s| {
            (s.shown != Some(s.points)).then(|| {
                s.shown = Some(s.points);
                format!("score {}", s.points)
            })
        });
        match text {
            Some(text) => GAME_HUD.call(&Hud { text }).await,
            None => Ok(()),
        }
    }
}

register_plugin!(Scorekeeper);
