//! The mod API of the `modding` example's game: every type a mod exchanges with it, so
//! mods depend on this crate instead of spelling type paths, method names and JSON
//! shapes. The game uses the same types for its host methods and events.
//!
//! A game publishes a crate like this one beside its mods; a mod in another language
//! reads the tables below (and `examples/README.md`).
//!
//! # Host methods (mod → game)
//!
//! | Constant | Method | Params | Result |
//! |---|---|---|---|
//! | [`GAME_ARENA`] | `game.arena` | none | [`Arena`]: `{"width": f32, "height": f32}` |
//! | [`GAME_SPAWN_CRITTER`] | `game.spawn_critter` | [`SpawnCritter`]: `{"x", "y", "radius": f32, "color": [r, g, b]}` | the new entity (`u64`); error code [`ARENA_FULL`] when the arena is full |
//! | [`GAME_SET_BACKGROUND`] | `game.set_background` | [`Rgb`]: `{"r", "g", "b": f32}` (0 to 1) | `null` |
//! | [`GAME_HUD`] | `game.hud` | [`Hud`]: `{"text": string}` | `null`; the text shows beside the mod's name |
//! | [`GAME_TIME_OF_DAY`] | `game.time_of_day` | none | [`TimeOfDay`]: `"morning"`, `"afternoon"` or `"evening"` |
//!
//! # Events (game → mod notifications)
//!
//! | Type | Method | Params |
//! |---|---|---|
//! | [`Tick`] | `game.tick` | `{"frame": u64, "time": f32, "dt": f32}`, every frame |
//! | [`Key`] | `game.key` | `{"key": "Space"}`, a key press (Bevy's `KeyCode` name) |
//! | [`Bounce`] | `game.bounce` | `{"entity": u64, "wall": "left" \| "right" \| "top" \| "bottom"}` |
//!
//! # Mod methods the game calls
//!
//! | Method | Params | Result |
//! |---|---|---|
//! | `greet` (the `greeter` mod) | [`Greet`]: `{"name": string}` | [`Greeting`]: `{"text": string}` |
//!
//! # Components (`world.*`, where the mod's `.meta` file allows)
//!
//! | Type | Type path | JSON |
//! |---|---|---|
//! | [`Critter`] | `game::Critter` | `{"radius": f32, "color": [r, g, b]}` |
//! | [`Velocity`] | `game::Velocity` | `{"x": f32, "y": f32}` (pixels per second) |
//! | [`Transform`] | `bevy_transform::components::transform::Transform` | `{"translation": [x, y, z], "rotation": [x, y, z, w], "scale": [x, y, z]}` |
//!
//! ```no_run
//! use bevy_wasmi_plugins_pdk::prelude::*;
//! use game_api::{GAME_HUD, Hud, Tick, Velocity, Critter};
//!
//! async fn stop_everyone(_tick: Tick) -> Result<(), Error> {
//!     let mut writes = world::Commands::new();
//!     for (entity, _) in world::query::<(Entity, Velocity), With<Critter>>().await? {
//!         writes.mutate(entity, &Velocity::default())?;
//!     }
//!     let n = writes.flush().await?;
//!     GAME_HUD.call(&Hud { text: format!("stopped {n}") }).await
//! }
//! ```

use std::fmt;

use bevy_wasmi_plugins_pdk::HostMethod;
use bevy_wasmi_plugins_pdk::ecs::Component;
/// The types the API is built on, for a game that serves it without naming the PDK.
pub use bevy_wasmi_plugins_pdk::{Event, ecs::Entity};
use serde::{Deserialize, Serialize};

/// `game.arena`: the arena's size.
pub const GAME_ARENA: HostMethod<(), Arena> = HostMethod::new("game.arena");
/// `game.spawn_critter`: a new critter; the result is its entity.
pub const GAME_SPAWN_CRITTER: HostMethod<SpawnCritter, Entity> =
    HostMethod::new("game.spawn_critter");
/// `game.set_background`: the arena's floor colour.
pub const GAME_SET_BACKGROUND: HostMethod<Rgb, ()> = HostMethod::new("game.set_background");
/// `game.hud`: a line of text beside the mod's name.
pub const GAME_HUD: HostMethod<Hud, ()> = HostMethod::new("game.hud");
/// `game.time_of_day`: morning, afternoon or evening (a day lasts a minute of game time).
pub const GAME_TIME_OF_DAY: HostMethod<(), TimeOfDay> = HostMethod::new("game.time_of_day");

/// The error code `game.spawn_critter` answers when the arena is full (a code outside
/// JSON-RPC's reserved range: the game's own).
pub const ARENA_FULL: i32 = 1;

/// The result of `game.arena`: its size in pixels; its centre is the world's origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arena {
    /// Width in pixels.
    pub width: f32,
    /// Height in pixels.
    pub height: f32,
}

/// The params of `game.spawn_critter`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpawnCritter {
    /// Where, from the arena's centre (clamped into the arena).
    pub x: f32,
    /// Where, upwards.
    pub y: f32,
    /// Its radius in pixels (clamped to 4..30).
    pub radius: f32,
    /// Red, green and blue, 0 to 1.
    pub color: [f32; 3],
}

/// The params of `game.set_background`: a colour, each channel 0 to 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rgb {
    /// Red.
    pub r: f32,
    /// Green.
    pub g: f32,
    /// Blue.
    pub b: f32,
}

/// The params of `game.hud`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hud {
    /// The text (control characters are dropped, and it is cut at 60 characters).
    pub text: String,
}

/// The result of `game.time_of_day`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeOfDay {
    /// The first third of a day.
    Morning,
    /// The second third.
    Afternoon,
    /// The last third.
    Evening,
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeOfDay::Morning => "morning",
            TimeOfDay::Afternoon => "afternoon",
            TimeOfDay::Evening => "evening",
        })
    }
}

/// `game.tick`: sent every frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Frames played, counting this one (from 1).
    pub frame: u64,
    /// Game seconds since the start.
    pub time: f32,
    /// Game seconds since the last frame.
    pub dt: f32,
}

impl Event for Tick {
    const NAME: &'static str = "game.tick";
}

/// `game.key`: the player pressed a key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Key {
    /// Bevy's `KeyCode` name: `"Space"`, `"KeyL"`, …
    pub key: String,
}

impl Event for Key {
    const NAME: &'static str = "game.key";
}

/// `game.bounce`: a critter hit a wall.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bounce {
    /// The critter.
    pub entity: Entity,
    /// The wall.
    pub wall: Wall,
}

impl Event for Bounce {
    const NAME: &'static str = "game.bounce";
}

/// A wall of the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Wall {
    /// The left wall.
    Left,
    /// The right wall.
    Right,
    /// The top wall.
    Top,
    /// The bottom wall.
    Bottom,
}

/// The params of the `greeter` mod's `greet`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Greet {
    /// Whom to greet.
    pub name: String,
}

/// The result of `greet`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Greeting {
    /// The greeting.
    pub text: String,
}

/// A round thing in the arena (`game::Critter`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Critter {
    /// Its radius in pixels.
    pub radius: f32,
    /// Red, green and blue, 0 to 1.
    pub color: [f32; 3],
}

impl Component for Critter {
    const TYPE_PATH: &'static str = "game::Critter";
}

/// How fast a critter moves, in pixels per second (`game::Velocity`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Velocity {
    /// Rightwards.
    pub x: f32,
    /// Upwards.
    pub y: f32,
}

impl Component for Velocity {
    const TYPE_PATH: &'static str = "game::Velocity";
}

/// Bevy's `Transform`, as its reflection serializer writes it: its fields in Bevy's
/// order, so that the packed form (`world::query_packed`), which reads fields by
/// position, reads it too.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transform {
    /// Position: x, y (the arena's plane) and z (drawing order).
    pub translation: [f32; 3],
    /// Rotation quaternion: x, y, z, w.
    pub rotation: [f32; 4],
    /// Scale.
    pub scale: [f32; 3],
}

impl Default for Transform {
    fn default() -> Self {
        Transform {
            translation: [0.0; 3],
            rotation: [0.0, 0.0, 0.0, 1.0],
            scale: [1.0; 3],
        }
    }
}

impl Component for Transform {
    const TYPE_PATH: &'static str = "bevy_transform::components::transform::Transform";
}
