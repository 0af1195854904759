//! The game without its looks: an arena of critters, the host methods and events the
//! mods use, and a record of what each mod did. The window (`view.rs`) and the
//! headless run (`main.rs`, `tests/modding.rs`) both build on this.
//!
//! What the mods can use: the types, names and codes of the mod-API crate `game_api`
//! (`examples/modding/api`), which this game serves and sends too, so there is one
//! definition of each message; for other languages, `examples/README.md`:
//!
//! | Host method | Params | Result |
//! |---|---|---|
//! | `game.arena` | none | `{"width": f32, "height": f32}` |
//! | `game.spawn_critter` | `{"x", "y", "radius", "color": [r, g, b]}` | the entity (`u64`) |
//! | `game.set_background` | `{"r", "g", "b"}` (0 to 1) | `null` |
//! | `game.hud` | `{"text": string}` | `null`; the text shows beside the mod's name |
//! | `game.time_of_day` | none | `"morning"`, `"afternoon"` or `"evening"` |
//!
//! | Event | Params |
//! |---|---|
//! | `game.tick` | `{"frame": u64, "time": f32, "dt": f32}`, every frame |
//! | `game.key` | `{"key": "Space"}`, a key press (Bevy's `KeyCode` name) |
//! | `game.bounce` | `{"entity": u64, "wall": "left" \| "right" \| "top" \| "bottom"}` |
//!
//! Components `game::Critter` and `game::Velocity` and Bevy's `Transform` are open to
//! `world.*` methods for the mods whose `.meta` file grants it.

use std::collections::BTreeMap;

use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;
use bevy_wasmi_plugins::protocol::ResponseError;
use game_api as api;

/// The arena's size in pixels; its centre is the world's origin.
pub const ARENA: Vec2 = Vec2::new(800.0, 640.0);
/// Most critters the arena holds.
pub const MAX_CRITTERS: usize = 400;
/// The longest `game.hud` text shown; longer texts are cut.
const MAX_HUD_CHARS: usize = 60;

/// The game: components, host methods, events and physics. Add it beside the window or
/// the headless plugins.
pub struct GamePlugin;

impl Plugin for GamePlugin {
    fn build(&self, app: &mut App) {
        // A mod gets 30 frames' worth of fuel per activation (30 M at the default
        // 1 M per frame): an endless loop is stopped in half a second, not a minute.
        let mut limits = Limits::new();
        limits.max_fuel_per_activation = 30_000_000;
        app.add_plugins(WasmiPluginsPlugin::default().with_limits(limits))
            // Types mods reach with `world.*` must be registered for reflection (Bevy's
            // `reflect_auto_register` feature would do it for all of them).
            .register_type::<Critter>()
            .register_type::<Velocity>()
            .register_type::<Transform>()
            .init_resource::<Background>()
            .init_resource::<ModActivity>()
            .init_resource::<Ticks>()
            .init_resource::<StartingCritters>()
            .init_resource::<FuelPeaks>()
            .add_host_method(api::GAME_ARENA.name(), arena)
            .add_host_method(api::GAME_SPAWN_CRITTER.name(), spawn_critter)
            .add_host_method(api::GAME_SET_BACKGROUND.name(), set_background)
            .add_host_method(api::GAME_HUD.name(), hud)
            .add_host_method(api::GAME_TIME_OF_DAY.name(), time_of_day)
            .add_systems(Startup, spawn_starting_critters)
            .add_systems(
                Update,
                (
                    (send_tick, send_keys).before(WasmiPluginsSystems::Load),
                    (
                        greet_the_player,
                        move_critters,
                        note_fuel_peaks,
                        note_rogue_stop,
                    )
                        .after(WasmiPluginsSystems::Drive),
                ),
            );
    }
}

/// A round thing in the arena.
#[derive(Component, Reflect, Clone, Copy, Debug, Default)]
#[reflect(Component, Default)]
#[type_path = "game"]
#[require(Transform, Velocity)]
pub struct Critter {
    /// Its radius in pixels.
    pub radius: f32,
    /// Its colour, red, green and blue from 0 to 1.
    pub color: [f32; 3],
}

/// How fast a critter moves, in pixels per second. Mods with write access steer it.
#[derive(Component, Reflect, Clone, Copy, Debug, Default, PartialEq)]
#[reflect(Component, Default)]
#[type_path = "game"]
pub struct Velocity {
    /// Rightwards.
    pub x: f32,
    /// Upwards.
    pub y: f32,
}

/// The arena's floor colour, which a mod may set with `game.set_background`.
#[derive(Resource, Clone, Copy, Debug)]
pub struct Background(pub Color);

impl Default for Background {
    fn default() -> Self {
        Background(Color::srgb(0.10, 0.11, 0.16))
    }
}

/// Critters the game spawns itself at the start, before any mod runs (the `modding`
/// example's `--critters`); 0 by default, when the `spawner` mod spawns them all.
#[derive(Resource, Default, Clone, Copy, Debug)]
pub struct StartingCritters(pub u32);

/// The most fuel each mod used in one frame, by mod entity.
#[derive(Resource, Default, Debug)]
pub struct FuelPeaks(pub BTreeMap<Entity, u64>);

/// Spawns [`StartingCritters`] critters on a spiral, standing still.
fn spawn_starting_critters(starting: Res<StartingCritters>, mut commands: Commands) {
    let n = starting.0.min(MAX_CRITTERS as u32);
    for i in 0..n {
        let turn = i as f32 * 2.399_963; // the golden angle: evenly spread
        let r = (i as f32 / n.max(1) as f32).sqrt() * (ARENA.y / 2.0 - 24.0);
        let hue = i as f32 / n.max(1) as f32;
        commands.spawn((
            Name::new("critter of the game"),
            Critter {
                radius: 6.0,
                color: [0.5 + 0.5 * hue, 0.8 - 0.4 * hue, 0.9],
            },
            Transform::from_xyz(r * turn.cos(), r * turn.sin(), 1.0),
        ));
    }
}

/// Keeps [`FuelPeaks`] up to date.
fn note_fuel_peaks(mods: Query<(Entity, &ModFuel)>, mut peaks: ResMut<FuelPeaks>) {
    for (entity, fuel) in &mods {
        let peak = peaks.0.entry(entity).or_default();
        *peak = (*peak).max(fuel.last_frame);
    }
}

/// Frames played so far.
#[derive(Resource, Default)]
pub struct Ticks(pub u64);

/// What each mod did through the game's host methods, by mod name.
#[derive(Resource, Default, Debug)]
pub struct ModActivity {
    /// Per mod.
    pub by_mod: BTreeMap<String, Activity>,
    /// Wall bounces so far (each one sent as a `game.bounce` event).
    pub bounces: u64,
    /// When the game stopped `rogue`: pulse's background changes and the wall bounces
    /// until then, to show the game and the other mods went on after.
    pub at_rogue_stop: Option<(u32, u64)>,
}

/// What one mod did.
#[derive(Default, Debug, Clone)]
pub struct Activity {
    /// Critters it spawned.
    pub spawned: u32,
    /// Times it set the background.
    pub backgrounds: u32,
    /// The last text it showed with `game.hud`.
    pub hud: Option<String>,
    /// The greeting it answered, for the greeter.
    pub greeting: Option<String>,
}

impl ModActivity {
    fn of(&mut self, name: &str) -> &mut Activity {
        self.by_mod.entry(name.to_owned()).or_default()
    }
}

fn arena(In(()): In<()>) -> Result<api::Arena, HostError> {
    Ok(api::Arena {
        width: ARENA.x,
        height: ARENA.y,
    })
}

fn spawn_critter(
    In(p): In<api::SpawnCritter>,
    calling: Res<CallingMod>,
    critters: Query<(), With<Critter>>,
    mut activity: ResMut<ModActivity>,
    mut commands: Commands,
) -> Result<api::Entity, HostError> {
    if critters.iter().count() >= MAX_CRITTERS {
        return Err(HostError(ResponseError {
            code: api::ARENA_FULL,
            message: format!("the arena is full ({MAX_CRITTERS} critters)"),
            data: None,
        }));
    }
    if ![p.x, p.y, p.radius]
        .iter()
        .chain(&p.color)
        .all(|v| v.is_finite())
    {
        return Err(HostError::invalid_params("numbers must be finite"));
    }
    let radius = p.radius.clamp(4.0, 30.0);
    let half = ARENA / 2.0 - radius;
    let at = Vec2::new(p.x, p.y).clamp(-half, half);
    let entity = commands
        .spawn((
            Name::new(format!("critter of {}", calling.name)),
            Critter {
                radius,
                color: p.color.map(|c| c.clamp(0.0, 1.0)),
            },
            Transform::from_translation(at.extend(1.0)),
        ))
        .id();
    activity.of(&calling.name).spawned += 1;
    Ok(api::Entity::from_bits(entity.to_bits()))
}

fn set_background(
    In(p): In<api::Rgb>,
    calling: Res<CallingMod>,
    mut background: ResMut<Background>,
    mut activity: ResMut<ModActivity>,
) -> Result<(), HostError> {
    let [r, g, b] = [p.r, p.g, p.b].map(|c| {
        if c.is_finite() {
            c.clamp(0.0, 1.0)
        } else {
            0.0
        }
    });
    background.0 = Color::srgb(r, g, b);
    activity.of(&calling.name).backgrounds += 1;
    Ok(())
}

fn hud(
    In(p): In<api::Hud>,
    calling: Res<CallingMod>,
    mut activity: ResMut<ModActivity>,
) -> Result<(), HostError> {
    let text: String = p
        .text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_HUD_CHARS)
        .collect();
    activity.of(&calling.name).hud = Some(text);
    Ok(())
}

fn time_of_day(In(()): In<()>, time: Res<Time>) -> Result<api::TimeOfDay, HostError> {
    // A day lasts a minute of game time.
    Ok(match (time.elapsed_secs() % 60.0) as u32 {
        0..20 => api::TimeOfDay::Morning,
        20..40 => api::TimeOfDay::Afternoon,
        _ => api::TimeOfDay::Evening,
    })
}

fn send_tick(rpc: Res<ModRpc>, time: Res<Time>, mut ticks: ResMut<Ticks>) -> Result {
    ticks.0 += 1;
    rpc.broadcast(
        <api::Tick as api::Event>::NAME,
        &api::Tick {
            frame: ticks.0,
            time: time.elapsed_secs(),
            dt: time.delta_secs(),
        },
    )?;
    Ok(())
}

/// Key presses, when the game has a keyboard (not in the headless run).
fn send_keys(rpc: Res<ModRpc>, keys: Option<Res<ButtonInput<KeyCode>>>) -> Result {
    for key in keys.iter().flat_map(|keys| keys.get_just_pressed()) {
        rpc.broadcast(
            <api::Key as api::Event>::NAME,
            &api::Key {
                key: format!("{key:?}"),
            },
        )?;
    }
    Ok(())
}

/// Notes [`ModActivity::at_rogue_stop`] when `rogue` crashes.
fn note_rogue_stop(
    mut changes: MessageReader<ModStatusChanged>,
    mut activity: ResMut<ModActivity>,
) {
    for change in changes.read() {
        if &*change.name == "rogue"
            && matches!(change.status, ModStatus::Crashed(_))
            && activity.at_rogue_stop.is_none()
        {
            let backgrounds = activity.of("pulse").backgrounds;
            activity.at_rogue_stop = Some((backgrounds, activity.bounces));
        }
    }
}

/// Asks the greeter mod to greet the player each time it has started (not on every
/// change between running and idle), and keeps its answer.
fn greet_the_player(
    rpc: Res<ModRpc>,
    mut changes: MessageReader<ModStatusChanged>,
    mut results: MessageReader<ModCallResult>,
    mut activity: ResMut<ModActivity>,
    mut greeter_ready: Local<bool>,
) {
    for change in changes.read() {
        if &*change.name != "greeter" {
            continue;
        }
        let ready = change.status.is_ready();
        if ready && !*greeter_ready {
            rpc.call(
                change.entity,
                "greet",
                &api::Greet {
                    name: "modder".to_owned(),
                },
            );
        }
        *greeter_ready = ready;
    }
    for result in results.read() {
        if result.method == "greet" {
            let greeting = match result.typed::<api::Greeting>() {
                Ok(greeting) => greeting.text,
                Err(error) => format!("greet failed: {error}"),
            };
            activity.of("greeter").greeting = Some(greeting);
        }
    }
}

/// Moves the critters and bounces them off the walls, telling the mods.
fn move_critters(
    time: Res<Time>,
    rpc: Res<ModRpc>,
    mut activity: ResMut<ModActivity>,
    mut critters: Query<(Entity, &Critter, &mut Transform, &mut Velocity)>,
) -> Result {
    let dt = time.delta_secs();
    for (entity, critter, mut transform, mut velocity) in &mut critters {
        // A mod may write any number; keep the game's own state sane.
        if !(velocity.x.is_finite() && velocity.y.is_finite()) {
            *velocity = Velocity::default();
        }
        let v = Vec2::new(velocity.x, velocity.y).clamp_length_max(600.0);
        let half = ARENA / 2.0 - critter.radius;
        let mut at = transform.translation.truncate() + v * dt;
        let mut bounce = |wall| {
            activity.bounces += 1;
            rpc.broadcast(
                <api::Bounce as api::Event>::NAME,
                &api::Bounce {
                    entity: api::Entity::from_bits(entity.to_bits()),
                    wall,
                },
            )
        };
        let (mut vx, mut vy) = (v.x, v.y);
        if at.x < -half.x && vx < 0.0 {
            vx = -vx;
            bounce(api::Wall::Left)?;
        } else if at.x > half.x && vx > 0.0 {
            vx = -vx;
            bounce(api::Wall::Right)?;
        }
        if at.y < -half.y && vy < 0.0 {
            vy = -vy;
            bounce(api::Wall::Bottom)?;
        } else if at.y > half.y && vy > 0.0 {
            vy = -vy;
            bounce(api::Wall::Top)?;
        }
        at = at.clamp(-half, half);
        transform.translation = at.extend(transform.translation.z);
        if (vx, vy) != (velocity.x, velocity.y) {
            *velocity = Velocity { x: vx, y: vy };
        }
    }
    Ok(())
}

/// A mod's line in the report: what it is for and whether it did it.
pub struct ModReport {
    /// The mod's name.
    pub name: String,
    /// Its status at the end.
    pub status: ModStatus,
    /// Fuel it used in all.
    pub fuel_total: u64,
    /// The most fuel it used in one frame.
    pub fuel_peak: u64,
    /// What it did, in words.
    pub did: String,
    /// Whether it did its job (for the rogue: whether the game stopped it).
    pub ok: bool,
}

/// The report's columns: name, status, fuel, what it did, and the verdict.
impl std::fmt::Display for ModReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<12} {:<9} {:>12} {:>10}  {}  [{}]",
            self.name,
            self.status.label(),
            self.fuel_total,
            self.fuel_peak,
            self.did,
            if self.ok { "ok" } else { "FAILED" }
        )
    }
}

/// The mods the example ships, and the job each has.
pub const EXPECTED_MODS: [&str; 6] = [
    "spawner",
    "swarm",
    "scorekeeper",
    "pulse",
    "greeter",
    "rogue",
];

/// What every mod did, judged: one line per mod entity, plus expected mods that are
/// missing.
pub fn report(world: &mut World) -> Vec<ModReport> {
    let mut mods = world.query::<(Entity, &Name, &ModStatus, Option<&ModFuel>)>();
    let mut lines: Vec<ModReport> = Vec::new();
    let moving = world
        .query_filtered::<&Velocity, With<Critter>>()
        .iter(world)
        .filter(|v| Vec2::new(v.x, v.y).length() > 1.0)
        .count();
    let critters = world.query::<&Critter>().iter(world).count();
    let activity = world.resource::<ModActivity>();
    let peaks = world.resource::<FuelPeaks>();
    for (entity, name, status, fuel) in mods.iter(world) {
        let name = name.as_str().trim_start_matches("mod ").to_owned();
        let did = activity.by_mod.get(&name).cloned().unwrap_or_default();
        let hud = did.hud.clone().unwrap_or_default();
        let (what, ok) = match name.as_str() {
            "spawner" => (
                format!("spawned {} critters", did.spawned),
                did.spawned >= 5,
            ),
            "swarm" => (
                format!("{moving} of {critters} critters are moving"),
                moving > 0 && moving == critters,
            ),
            "scorekeeper" => {
                let score = hud
                    .strip_prefix("score ")
                    .and_then(|s| s.parse::<u64>().ok());
                (
                    format!("shows \"{hud}\" after {} bounces", activity.bounces),
                    score.is_some_and(|s| s > 0),
                )
            }
            "pulse" => (
                format!("set the background {} times", did.backgrounds),
                did.backgrounds >= 2,
            ),
            "greeter" => (
                format!(
                    "answered {:?}",
                    did.greeting.as_deref().unwrap_or("nothing")
                ),
                did.greeting
                    .as_deref()
                    .is_some_and(|g| g.contains("modder")),
            ),
            "rogue" => {
                // Stopped by the fuel guard for its endless loop, and the game and the
                // other mods went on: the floor changed colour and critters bounced.
                let stopped = matches!(
                    status,
                    ModStatus::Crashed(error)
                        if matches!(error.kind, ModErrorKind::FuelExhausted { .. })
                );
                let after = activity.at_rogue_stop.map(|(backgrounds, bounces)| {
                    (
                        activity
                            .by_mod
                            .get("pulse")
                            .map_or(0, |pulse| pulse.backgrounds)
                            .saturating_sub(backgrounds),
                        activity.bounces.saturating_sub(bounces),
                    )
                });
                match after {
                    Some((backgrounds, bounces)) if stopped => (
                        format!(
                            "looped on purpose; the fuel guard stopped it, and after that \
                             pulse set the background {backgrounds} times and critters \
                             bounced {bounces} times"
                        ),
                        backgrounds > 0 && bounces > 0,
                    ),
                    _ => ("was not stopped for an endless loop".to_owned(), false),
                }
            }
            _ => ("(not used by this game)".to_owned(), status.is_alive()),
        };
        let ok = ok && (name == "rogue" || status.is_ready());
        lines.push(ModReport {
            name,
            status: status.clone(),
            fuel_total: fuel.map_or(0, |fuel| fuel.total),
            fuel_peak: peaks.0.get(&entity).copied().unwrap_or(0),
            did: what,
            ok,
        });
    }
    for expected in EXPECTED_MODS {
        if !lines.iter().any(|line| line.name == expected) {
            lines.push(ModReport {
                name: expected.to_owned(),
                status: ModStatus::Loading,
                fuel_total: 0,
                fuel_peak: 0,
                did: format!("not found: is assets/mods/{expected}.wasm there?"),
                ok: false,
            });
        }
    }
    lines.sort_by(|a, b| a.name.cmp(&b.name));
    lines
}

/// Runs the game without a window: first until every mod in the folder has started
/// (at most 30 s of real time), then for `frames` frames of 1/60 s each, and reports
/// what every mod did.
#[cfg(not(target_arch = "wasm32"))]
pub fn run_headless(frames: u32, app: &mut App) -> Vec<ModReport> {
    use bevy::time::TimeUpdateStrategy;
    use std::time::{Duration, Instant};

    app.add_plugins((
        MinimalPlugins,
        AssetPlugin::default(),
        TransformPlugin,
        GamePlugin,
    ))
    .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
        1.0 / 60.0,
    )));
    app.finish();
    app.cleanup();
    // Loading the folder and compiling the mods happens on other threads, in real time.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut mods = app.world_mut().query::<&ModStatus>();
    loop {
        app.update();
        let world = app.world();
        let mut statuses = mods.iter(world).peekable();
        let started = statuses.peek().is_some()
            && statuses.all(|s| !matches!(s, ModStatus::Loading | ModStatus::Starting));
        if started || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    for _ in 0..frames {
        app.update();
    }
    report(app.world_mut())
}
