//! A mod that misbehaves on purpose, to show that one bad mod cannot take the game
//! down: the game stops it with a clear error and the other mods keep working.
//!
//! - It counts down on the game's screen (`game.hud`), and after six seconds of game
//!   time it enters an endless loop. The game pauses it at the end of every frame's
//!   fuel slice, and its runaway guard (fuel per activation) ends it a few frames later.
//! - `L` (`game.key` `KeyL`) starts the endless loop at once; `P` (`KeyP`) makes it
//!   panic.

use bevy_wasmi_plugins_pdk::prelude::*;
use game_api::{GAME_HUD, Hud, Key, Tick};

/// Game seconds before the mod loops forever.
const PATIENCE: f32 = 6.0;

#[derive(Default)]
struct Rogue {
    /// The last whole second shown on the screen.
    shown: State<Option<u32>>,
}

impl Plugin for Rogue {
    fn methods(methods: &mut Methods<Self>) {
        methods.on::<Tick>(Self::tick).on::<Key>(Self::key);
    }
}

impl Rogue {
    async fn tick(&'static self, tick: Tick) -> Result<(), Error> {
        if tick.time >= PATIENCE {
            spin();
        }
        let left = (PATIENCE - tick.time).ceil() as u32;
        if self.shown.replace(Some(left)) != Some(left) {
            let text = format!("looping forever in {left} s (L: now, P: panic)");
            GAME_HUD.call(&Hud { text }).await?;
        }
        Ok(())
    }

    async fn key(&'static self, key: Key) {
        match key.key.as_str() {
            "KeyL" => spin(),
            "KeyP" => panic!("the player pressed P"),
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
