//! Spawns critters into the arena through the game's host method `game.spawn_critter`.
//!
//! - At start it asks the game for the arena's size (`game.arena`).
//! - Four times a second of game time (`game.tick` events) it spawns one critter, up
//!   to 24.
//! - When the player presses Space (`game.key`) it spawns a burst of six at once.
//! - `stats` answers how many it spawned.
//!
//! The critters stand still until another mod (`swarm`) steers them.

use std::cell::Cell;

use bevy_wasmi_plugins_pdk::prelude::*;
use serde::{Deserialize, Serialize};

/// Critters spawned by the clock; Space adds more beyond this.
const STEADY_CRITTERS: u32 = 24;
/// Steady spawns per second of game time.
const SPAWNS_PER_SECOND: f32 = 4.0;

const PALETTE: [[f32; 3]; 6] = [
    [0.98, 0.45, 0.35],
    [0.99, 0.78, 0.30],
    [0.45, 0.85, 0.55],
    [0.35, 0.70, 0.98],
    [0.75, 0.50, 0.95],
    [0.95, 0.50, 0.75],
];

#[derive(Default)]
struct Spawner {
    arena: Cell<Arena>,
    spawned: Cell<u32>,
    /// Steady spawns so far (not counting bursts).
    steady: Cell<u32>,
    /// xorshift64 state: the same game gets the same critters.
    seed: Cell<u64>,
}

#[derive(Clone, Copy, Default, Deserialize)]
struct Arena {
    width: f32,
    height: f32,
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
struct SpawnCritter {
    x: f32,
    y: f32,
    radius: f32,
    color: [f32; 3],
}

#[derive(Serialize)]
struct Stats {
    spawned: u32,
}

impl Plugin for Spawner {
    fn methods(methods: &mut Methods<Self>) {
        methods.add("stats", |this: &'static Self| async move {
            Ok(Stats {
                spawned: this.spawned.get(),
            })
        });
    }

    fn events() -> &'static [&'static str] {
        &["game.tick", "game.key"]
    }

    async fn init(&'static self, _init: Init) -> Result<(), Error> {
        self.seed.set(0x9E37_79B9_7F4A_7C15);
        // A game without this host method still gets a working mod; it just has
        // nowhere to spawn.
        match host::call("game.arena", &()).await {
            Ok(arena) => self.arena.set(arena),
            Err(error) => log::warn!("no arena to spawn in: {error}"),
        }
        Ok(())
    }

    async fn notification(&'static self, method: &str, params: Params<'_>) {
        match method {
            "game.tick" => {
                let Ok(tick) = params.parse::<Tick>() else {
                    return;
                };
                let due = (tick.time * SPAWNS_PER_SECOND) as u32;
                if self.steady.get() < due.min(STEADY_CRITTERS) {
                    self.steady.set(self.steady.get() + 1);
                    self.spawn().await;
                }
            }
            "game.key" if params.parse::<Key>().is_ok_and(|k| k.key == "Space") => {
                for _ in 0..6 {
                    self.spawn().await;
                }
            }
            _ => {}
        }
    }
}

impl Spawner {
    async fn spawn(&'static self) {
        let Arena { width, height } = self.arena.get();
        if width <= 0.0 || height <= 0.0 {
            return;
        }
        let critter = SpawnCritter {
            x: (self.random() - 0.5) * width * 0.8,
            y: (self.random() - 0.5) * height * 0.8,
            radius: 8.0 + self.random() * 10.0,
            color: PALETTE[(self.random() * PALETTE.len() as f32) as usize % PALETTE.len()],
        };
        match host::call::<u64>("game.spawn_critter", &critter).await {
            Ok(_entity) => self.spawned.set(self.spawned.get() + 1),
            // The game caps the number of critters; that is not worth more than a line.
            Err(error) => log::warn!("could not spawn a critter: {error}"),
        }
    }

    /// A number in `0.0..1.0`.
    fn random(&self) -> f32 {
        let mut x = self.seed.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed.set(x);
        (x >> 40) as f32 / (1u64 << 24) as f32
    }
}

register_plugin!(Spawner);
