//! A mod that misbehaves on purpose, to show that one bad mod cannot take the game
//! down: the game stops it with a clear error and the other mods keep working.
//!
//! - It counts down on the game's screen (`game.hud`), and after six seconds of game
//!   time it enters an endless loop. The game pauses it at the end of every frame's
//!   fuel slice, and its runaway guard (fuel per activation) ends it a few frames later.
//! - `L` (`game.key` `KeyL`) starts the endless loop at once; `P` (`KeyP`) makes it
//!   panic.

use std::cell::Cell;

use bevy_wasmi_plugins_pdk::prelude::*;
use serde::{Deserialize, Serialize};

/// Game seconds before the mod loops forever.
const PATIENCE: f32 = 6.0;

#[derive(Default)]
struct Rogue {
    /// The last whole second shown on the screen.
    shown: Cell<Option<u32>>,
}

#[derive(Deserialize)]
struct Tick {
    time: f32,
}

#[derive(Deserialize)]
struct Key {
    key: String,
}

#[derive(Serialize)]
struct Hud {
    text: String,
}

impl Plugin for Rogue {
    fn events() -> &'static [&'static str] {
        &["game.tick", "game.key"]
    }

    async fn notification(&'static self, method: &str, params: Params<'_>) {
        match method {
            "game.tick" => {
                let Ok(tick) = params.parse::<Tick>() else {
                    return;
                };
                if tick.time >= PATIENCE {
                    spin();
                }
                let left = (PATIENCE - tick.time).ceil() as u32;
                if self.shown.replace(Some(left)) != Some(left) {
                    let hud = Hud {
                        text: format!("looping forever in {left} s (L: now, P: panic)"),
                    };
                    if let Err(error) = host::call::<()>("game.hud", &hud).await {
                        log::warn!("game.hud failed: {error}");
                    }
                }
            }
            "game.key" => match params.parse::<Key>().map(|k| k.key) {
                Ok(key) if key == "KeyL" => spin(),
                Ok(key) if key == "KeyP" => panic!("the player pressed P"),
                _ => {}
            },
            _ => {}
        }
    }
}

/// Never returns: only the game's fuel limit stops it.
fn spin() -> ! {
    log::warn!("here I go: an endless loop");
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

register_plugin!(Rogue);
