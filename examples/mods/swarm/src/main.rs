//! Steers every critter in the arena through the ECS with the PDK's typed client, in
//! its packed form (postcard bytes instead of JSON, several times cheaper for many
//! entities): `world::query_packed` reads each critter's `Transform` and `Velocity`,
//! and a `world::Commands` buffer writes the new velocities with `mutate_packed`, sent
//! as one `bulk.mutate_components` call. The packed form reads fields by position, so
//! `game_api`'s types declare the game's fields in the game's order.
//!
//! The critters cruise at a steady speed, swirl around the centre of the arena and
//! keep a little apart. The mod needs permission to read `Transform` and
//! `game::Critter` and to write `game::Velocity`; the game grants it in
//! `assets/mods/swarm.wasm.meta`.
//!
//! It steers every other frame (`game.tick` events), and shows how many critters it
//! steers through the game's `game.hud`.
//!
//! `stats` answers how many critters it steered and how many velocity writes it made.

use bevy_wasmi_plugins_pdk::prelude::*;
use game_api::{Critter, GAME_HUD, Hud, Tick, Transform, Velocity};
use serde::Serialize;

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
    state: State<Steering>,
}

#[derive(Default)]
struct Steering {
    steered: u32,
    writes: u64,
    /// A steering pass waits for the game: a tick meanwhile is skipped.
    steering: bool,
    /// The count last shown on the screen.
    shown: Option<u32>,
}

#[derive(Serialize)]
struct Stats {
    steered: u32,
    writes: u64,
}

impl Plugin for Swarm {
    fn methods(methods: &mut Methods<Self>) {
        methods
            .add("stats", |this: &'static Self| async move {
                Ok(this.state.with(|s| Stats {
                    steered: s.steered,
                    writes: s.writes,
                }))
            })
            .on::<Tick>(Self::tick);
    }
}

impl Swarm {
    async fn tick(&'static self, tick: Tick) -> Result<(), Error> {
        // Steering every other frame is smooth enough and halves the fuel it costs.
        if !tick.frame.is_multiple_of(2)
            || self
                .state
                .with(|s| std::mem::replace(&mut s.steering, true))
        {
            return Ok(());
        }
        let steered = self.steer().await;
        self.state.with(|s| s.steering = false);
        steered
    }

    async fn steer(&'static self) -> Result<(), Error> {
        let critters =
            world::query_packed::<(Entity, Transform, Velocity), With<Critter>>().await?;
        let positions: Vec<[f32; 2]> = critters
            .iter()
            .map(|(_, transform, _)| [transform.translation[0], transform.translation[1]])
            .collect();
        let grid = Grid::new(&positions);
        let mut writes = world::Commands::new();
        for (i, (entity, _, velocity)) in critters.iter().enumerate() {
            let wanted = wanted_velocity(*entity, i, *velocity, &positions, &grid);
            let value = Velocity {
                x: velocity.x + (wanted[0] - velocity.x) * TURN,
                y: velocity.y + (wanted[1] - velocity.y) * TURN,
            };
            writes.mutate_packed(*entity, &value)?;
        }
        let written = writes.flush().await?;
        let steered = critters.len() as u32;
        let show = self.state.with(|s| {
            s.writes += written as u64;
            s.steered = steered;
            s.shown.replace(steered) != Some(steered)
        });
        if show {
            let text = format!("steering {steered} critters");
            GAME_HUD.call(&Hud { text }).await?;
        }
        Ok(())
    }
}

/// Where critter `i` (entity `entity`, moving at `velocity`) wants to go: on at
/// cruising speed, bending a little around the centre (so the swarm swirls), away from
/// critters that come too close. A critter that stands still picks a heading from its
/// entity.
fn wanted_velocity(
    entity: Entity,
    i: usize,
    velocity: Velocity,
    everyone: &[[f32; 2]],
    grid: &Grid,
) -> [f32; 2] {
    let [x, y] = everyone[i];
    let speed = length(velocity.x, velocity.y);
    let (mut dx, mut dy) = if speed > 1.0 {
        (velocity.x / speed, velocity.y / speed)
    } else {
        let angle = (entity.to_bits() % 360) as f32 * std::f32::consts::PI / 180.0;
        (angle.cos(), angle.sin())
    };
    let distance = length(x, y).max(1.0);
    dx -= y / distance * SWIRL;
    dy += x / distance * SWIRL;
    let norm = length(dx, dy).max(1e-3);
    let mut v = [dx / norm * CRUISE, dy / norm * CRUISE];
    grid.near([x, y], |j| {
        let [ox, oy] = everyone[j];
        let (ax, ay) = (x - ox, y - oy);
        let d2 = ax * ax + ay * ay;
        if d2 > 0.0 && d2 < PERSONAL_SPACE * PERSONAL_SPACE {
            let d = d2.sqrt();
            let push = (PERSONAL_SPACE - d) / PERSONAL_SPACE * CRUISE;
            v[0] += ax / d * push;
            v[1] += ay / d * push;
        }
    });
    v
}

/// The length of `(x, y)`: a square root (one wasm instruction), not `hypot`, whose
/// care for overflow costs a mod far more fuel and which speeds and pixels never need.
fn length(x: f32, y: f32) -> f32 {
    (x * x + y * y).sqrt()
}

/// The critters sorted into square cells of `PERSONAL_SPACE`, so each one looks only at
/// the critters in the nine cells around it, not at all of them.
struct Grid {
    /// `(cell, critter)`, sorted by cell.
    cells: Vec<(i64, usize)>,
}

impl Grid {
    fn new(positions: &[[f32; 2]]) -> Self {
        let mut cells: Vec<(i64, usize)> = positions
            .iter()
            .enumerate()
            .map(|(i, &at)| {
                let (cx, cy) = cell(at);
                (key(cx, cy), i)
            })
            .collect();
        cells.sort_unstable();
        Grid { cells }
    }

    /// Calls `f` with every critter in the cells around `at`.
    fn near(&self, at: [f32; 2], mut f: impl FnMut(usize)) {
        let (cx, cy) = cell(at);
        for gx in cx - 1..=cx + 1 {
            for gy in cy - 1..=cy + 1 {
                let k = key(gx, gy);
                let start = self.cells.partition_point(|&(c, _)| c < k);
                for &(c, j) in &self.cells[start..] {
                    if c != k {
                        break;
                    }
                    f(j);
                }
            }
        }
    }
}

fn cell([x, y]: [f32; 2]) -> (i32, i32) {
    let size = PERSONAL_SPACE;
    ((x / size).floor() as i32, (y / size).floor() as i32)
}

fn key(cx: i32, cy: i32) -> i64 {
    (i64::from(cx) << 32) | i64::from(cy as u32)
}

register_plugin!(Swarm);
