//! Steers every critter in the arena through the ECS, as the Bevy Remote Protocol
//! does it: `world.query` reads each critter's `Transform` and `game::Velocity`, and
//! `world.mutate_components` writes a new velocity.
//!
//! The critters cruise at a steady speed, swirl around the centre of the arena and
//! keep a little apart. The mod
//! needs permission to read `Transform` and `game::Critter` and to write
//! `game::Velocity`; the game grants it in `assets/mods/swarm.wasm.meta`.
//!
//! It steers every other frame (`game.tick` events), and shows how many critters it
//! steers through the game's `game.hud`.
//!
//! `stats` answers how many critters it steered and how many velocity writes it made.

use std::cell::Cell;

use bevy_wasmi_plugins_pdk::prelude::*;
use serde::{Deserialize, Serialize};

const TRANSFORM: &str = "bevy_transform::components::transform::Transform";
const VELOCITY: &str = "game::Velocity";
const CRITTER: &str = "game::Critter";

/// Speed along the swirl, in pixels per second.
const CRUISE: f32 = 140.0;
/// How strongly critters bend around the centre of the arena.
const SWIRL: f32 = 0.08;
/// Critters closer than this push each other away.
const PERSONAL_SPACE: f32 = 40.0;
/// How much of the way to the wanted velocity one step goes.
const TURN: f32 = 0.2;

#[derive(Default)]
struct Swarm {
    steered: Cell<u32>,
    writes: Cell<u64>,
    busy: Cell<bool>,
}

#[derive(Deserialize)]
struct Tick {
    frame: u64,
}

#[derive(Deserialize)]
struct Row {
    entity: u64,
    components: Components,
}

#[derive(Deserialize)]
struct Components {
    #[serde(rename = "bevy_transform::components::transform::Transform")]
    transform: Transform,
    #[serde(rename = "game::Velocity")]
    velocity: Velocity,
}

#[derive(Deserialize)]
struct Transform {
    translation: [f32; 3],
}

#[derive(Clone, Copy, Deserialize, Serialize)]
struct Velocity {
    x: f32,
    y: f32,
}

#[derive(Serialize)]
struct Mutate {
    entity: u64,
    component: &'static str,
    path: &'static str,
    value: Velocity,
}

#[derive(Serialize)]
struct Hud {
    text: String,
}

#[derive(Serialize)]
struct Stats {
    steered: u32,
    writes: u64,
}

impl Plugin for Swarm {
    fn methods(methods: &mut Methods<Self>) {
        methods.add("stats", |this: &'static Self| async move {
            Ok(Stats {
                steered: this.steered.get(),
                writes: this.writes.get(),
            })
        });
    }

    fn events() -> &'static [&'static str] {
        &["game.tick"]
    }

    async fn notification(&'static self, method: &str, params: Params<'_>) {
        // Steering every other frame is smooth enough and halves the fuel it costs.
        let every_other = params.parse::<Tick>().is_ok_and(|t| t.frame % 2 == 0);
        // One steering pass at a time: a tick that comes while the last pass still
        // waits for the game is skipped.
        if method != "game.tick" || !every_other || self.busy.replace(true) {
            return;
        }
        if let Err(error) = self.steer().await {
            log::warn!("steering failed: {error}");
        }
        self.busy.set(false);
    }
}

impl Swarm {
    async fn steer(&'static self) -> Result<(), Error> {
        let query = serde_json::json!({
            "data": { "components": [TRANSFORM, VELOCITY] },
            "filter": { "with": [CRITTER] },
            // Strict: a type the game does not know is an error, not an empty answer.
            "strict": true,
        });
        let rows: Vec<Row> = host::call("world.query", &query).await?;
        let positions: Vec<[f32; 2]> = rows
            .iter()
            .map(|row| {
                let [x, y, _] = row.components.transform.translation;
                [x, y]
            })
            .collect();
        for (row, &[x, y]) in rows.iter().zip(&positions) {
            let Velocity { x: vx, y: vy } = row.components.velocity;
            let wanted = wanted_velocity(row.entity, [x, y], row.components.velocity, &positions);
            let value = Velocity {
                x: vx + (wanted[0] - vx) * TURN,
                y: vy + (wanted[1] - vy) * TURN,
            };
            let mutate = Mutate {
                entity: row.entity,
                component: VELOCITY,
                path: "",
                value,
            };
            host::call::<()>("world.mutate_components", &mutate).await?;
            self.writes.set(self.writes.get() + 1);
        }
        let steered = rows.len() as u32;
        if self.steered.replace(steered) != steered {
            let hud = Hud {
                text: format!("steering {steered} critters"),
            };
            host::call::<()>("game.hud", &hud).await?;
        }
        Ok(())
    }
}

/// Where a critter at `at`, moving at `velocity`, wants to go: on at cruising speed,
/// bending a little around the centre (so the swarm swirls), away from critters that
/// come too close. A critter that stands still picks a heading from its entity.
fn wanted_velocity(
    entity: u64,
    at: [f32; 2],
    velocity: Velocity,
    everyone: &[[f32; 2]],
) -> [f32; 2] {
    let [x, y] = at;
    let speed = velocity.x.hypot(velocity.y);
    let (mut dx, mut dy) = if speed > 1.0 {
        (velocity.x / speed, velocity.y / speed)
    } else {
        let angle = (entity % 360) as f32 * std::f32::consts::PI / 180.0;
        (angle.cos(), angle.sin())
    };
    let distance = x.hypot(y).max(1.0);
    dx -= y / distance * SWIRL;
    dy += x / distance * SWIRL;
    let length = dx.hypot(dy).max(1e-3);
    let mut v = [dx / length * CRUISE, dy / length * CRUISE];
    for &[ox, oy] in everyone {
        let (ax, ay) = (x - ox, y - oy);
        let d = ax.hypot(ay);
        if d > 0.0 && d < PERSONAL_SPACE {
            let push = (PERSONAL_SPACE - d) / PERSONAL_SPACE * CRUISE;
            v[0] += ax / d * push;
            v[1] += ay / d * push;
        }
    }
    v
}

register_plugin!(Swarm);
