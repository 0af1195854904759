//! Spawns critters into the arena through the game's host method `game.spawn_critter`.
//!
//! - At start it asks the game for the arena's size (`game.arena`).
//! - Four times a second of game time (`game.tick` events) it spawns one critter, up
//!   to 24.
//! - When the player presses Space (`game.key`) it spawns a burst of six at once, sent
//!   as one batch.
//! - `stats` answers how many it spawned.
//!
//! The critters stand still until another mod (`swarm`) steers them.

use bevy_wasmi_plugins_pdk::prelude::*;
use game_api::{Arena, GAME_ARENA, GAME_SPAWN_CRITTER, Key, SpawnCritter, Tick};
use serde::Serialize;

/// Critters spawned by the clock; Space adds more beyond this.
const STEADY_CRITTERS: u32 = 24;
/// Steady spawns per second of game time.
const SPAWNS_PER_SECOND: f32 = 4.0;
/// Critters in a burst.
const BURST: usize = 6;

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
    state: State<Spawning>,
}

#[derive(Default)]
struct Spawning {
    arena: Arena,
    spawned: u32,
    /// Steady spawns so far (not counting bursts).
    steady: u32,
    /// xorshift64 state: the same game gets the same critters.
    seed: u64,
}

#[derive(Serialize)]
struct Stats {
    spawned: u32,
}

impl Plugin for Spawner {
    fn methods(methods: &mut Methods<Self>) {
        methods
            .add("stats", |this: &'static Self| async move {
                Ok(Stats {
                    spawned: this.state.with(|s| s.spawned),
                })
            })
            .on::<Tick>(Self::tick)
            .on::<Key>(Self::key);
    }

    async fn init(&'static self, _init: Init) -> Result<(), Error> {
        self.state.with(|s| s.seed = 0x9E37_79B9_7F4A_7C15);
        // A game without this host method still gets a working mod; it just has
        // nowhere to spawn.
        match GAME_ARENA.call(&()).await {
            Ok(arena) => self.state.with(|s| s.arena = arena),
            Err(error) => log::warn!("no arena to spawn in: {error}"),
        }
        Ok(())
    }
}

impl Spawner {
    async fn tick(&'static self, tick: Tick) {
        let due = ((tick.time * SPAWNS_PER_SECOND) as u32).min(STEADY_CRITTERS);
        let critter = self.state.with(|s| {
            (s.steady < due).then(|| {
                s.steady += 1;
                s.critter()
            })
        });
        if let Some(Some(critter)) = critter {
            self.spawn(&[critter]).await;
        }
    }

    async fn key(&'static self, key: Key) {
        if key.key == "Space" {
            let burst: Vec<SpawnCritter> = self
                .state
                .with(|s| (0..BURST).filter_map(|_| s.critter()).collect());
            self.spawn(&burst).await;
        }
    }

    /// Spawns `critters`, all in one message.
    async fn spawn(&'static self, critters: &[SpawnCritter]) {
        let calls: Vec<_> = host::batch(|| {
            critters
                .iter()
                .map(|c| GAME_SPAWN_CRITTER.call(c))
                .collect()
        });
        for call in calls {
            match call.await {
                Ok(_entity) => self.state.with(|s| s.spawned += 1),
                // The game caps the number of critters; that is not worth more than a line.
                Err(error) => log::warn!("could not spawn a critter: {error}"),
            }
        }
    }
}

impl Spawning {
    /// A critter somewhere in the arena; none while the arena's size is unknown.
    fn critter(&mut self) -> Option<SpawnCritter> {
        let Arena { width, height } = self.arena;
        if width <= 0.0 || height <= 0.0 {
            return None;
        }
        Some(SpawnCritter {
            x: (self.random() - 0.5) * width * 0.8,
            y: (self.random() - 0.5) * height * 0.8,
            radius: 8.0 + self.random() * 10.0,
            color: PALETTE[(self.random() * PALETTE.len() as f32) as usize % PALETTE.len()],
        })
    }

    /// A number in `0.0..1.0`.
    fn random(&mut self) -> f32 {
        let mut x = self.seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed = x;
        (x >> 40) as f32 / (1u64 << 24) as f32
    }
}

register_plugin!(Spawner);
