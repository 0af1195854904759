//! What the game looks like: the arena, the critters as circles, and a panel listing
//! every mod with its status, the fuel it used per frame and what it shows.

use std::collections::HashMap;
use std::path::PathBuf;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use bevy_wasmi_plugins::prelude::*;

use crate::game::{ARENA, Activity, Background, Critter, ModActivity};

/// The window's look.
pub struct ViewPlugin {
    /// Save a screenshot here after a few seconds, then quit.
    pub screenshot: Option<PathBuf>,
}

/// Width of the mod panel on the right, in pixels.
const PANEL_WIDTH: f32 = 430.0;
/// The camera looks this far right of the arena's centre, so the arena sits left of the
/// panel (and a little below it, so the arena sits above the key help).
const CAMERA_SHIFT: f32 = PANEL_WIDTH / 2.0;
/// Game seconds before the screenshot, at the earliest.
const SCREENSHOT_AT: f32 = 9.0;
/// Game seconds before the screenshot even if no mod has crashed yet.
const SCREENSHOT_LATEST: f32 = 30.0;

const TEXT: Color = Color::srgb(0.92, 0.93, 0.96);
const DIM: Color = Color::srgb(0.62, 0.65, 0.72);
const GOOD: Color = Color::srgb(0.45, 0.85, 0.55);
const BUSY: Color = Color::srgb(0.99, 0.78, 0.30);
const BAD: Color = Color::srgb(0.98, 0.42, 0.38);

impl Plugin for ViewPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(ClearColor(Color::srgb(0.04, 0.045, 0.06)))
            .add_systems(Startup, setup)
            .add_systems(
                Update,
                (dress_critters, paint_floor, update_panel).after(WasmiPluginsSystems::Drive),
            );
        if let Some(path) = &self.screenshot {
            app.insert_resource(ScreenshotTo(path.clone()))
                .add_systems(Update, take_screenshot);
        }
    }
}

#[derive(Component)]
struct Floor;

#[derive(Component)]
struct ModRows;

#[derive(Resource)]
struct ScreenshotTo(PathBuf);

fn setup(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    background: Res<Background>,
) {
    commands.spawn((Camera2d, Transform::from_xyz(CAMERA_SHIFT, -12.0, 0.0)));
    commands.spawn((
        Floor,
        Mesh2d(meshes.add(Rectangle::new(ARENA.x, ARENA.y))),
        MeshMaterial2d(materials.add(ColorMaterial::from_color(background.0))),
    ));

    // The mod panel.
    commands
        .spawn((
            Node {
                position_type: PositionType::Absolute,
                right: px(16),
                top: px(16),
                bottom: px(16),
                width: px(PANEL_WIDTH - 32.0),
                flex_direction: FlexDirection::Column,
                row_gap: px(10),
                padding: UiRect::all(px(14)),
                border_radius: BorderRadius::all(px(10)),
                ..default()
            },
            BackgroundColor(Color::srgba(0.12, 0.13, 0.18, 0.92)),
        ))
        .with_children(|panel| {
            panel.spawn((
                Text::new("Mods in assets/mods"),
                TextFont::from_font_size(24.0),
                TextColor(TEXT),
            ));
            panel.spawn((
                Text::new("status, fuel per frame, what it shows"),
                TextFont::from_font_size(14.0),
                TextColor(DIM),
            ));
            panel.spawn((
                ModRows,
                Node {
                    flex_direction: FlexDirection::Column,
                    row_gap: px(12),
                    ..default()
                },
            ));
        });

    // What the keys do, under the arena. A browser has no file watcher: no hot reload.
    #[cfg(not(target_arch = "wasm32"))]
    let reload =
        "Edit a mod in examples/mods/ and run `bash scripts/build-mods.sh`: it hot-reloads.";
    #[cfg(target_arch = "wasm32")]
    let reload =
        "In a browser: the mods named in assets/mods/index.modlist, run by wasmi inside wasm.";
    commands.spawn((
        Text::new(format!(
            "Space: spawner spawns a burst   L: rogue loops forever   P: rogue panics\n{reload}"
        )),
        TextFont::from_font_size(15.0),
        TextColor(DIM),
        Node {
            position_type: PositionType::Absolute,
            left: px(16),
            bottom: px(10),
            ..default()
        },
    ));
}

/// Gives new critters their circle.
fn dress_critters(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    critters: Query<(Entity, &Critter), Added<Critter>>,
) {
    for (entity, critter) in &critters {
        let [r, g, b] = critter.color;
        commands.entity(entity).insert((
            Mesh2d(meshes.add(Circle::new(critter.radius))),
            MeshMaterial2d(materials.add(Color::srgb(r, g, b))),
        ));
    }
}

/// Paints the arena's floor in the colour the mods chose.
fn paint_floor(
    background: Res<Background>,
    floor: Query<&MeshMaterial2d<ColorMaterial>, With<Floor>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    if !background.is_changed() {
        return;
    }
    for material in &floor {
        if let Some(mut material) = materials.get_mut(material) {
            material.color = background.0;
        }
    }
}

/// Rebuilds the mod list four times a second, with fuel per frame averaged in between.
fn update_panel(
    mut commands: Commands,
    time: Res<Time>,
    mut every: Local<Option<Timer>>,
    mut fuel: Local<HashMap<Entity, f32>>,
    rows: Single<Entity, With<ModRows>>,
    mods: Query<(Entity, &Name, &ModStatus, Option<&ModFuel>)>,
    activity: Res<ModActivity>,
) {
    fuel.retain(|entity, _| mods.contains(*entity));
    for (entity, _, _, fuel_used) in &mods {
        let last = fuel_used.map_or(0.0, |used| used.last_frame as f32);
        let average = fuel.entry(entity).or_insert(last);
        *average += (last - *average) * 0.1;
    }
    // The first frame builds the list at once; after that, four times a second.
    let due = match every.as_mut() {
        None => {
            *every = Some(Timer::from_seconds(0.25, TimerMode::Repeating));
            true
        }
        Some(timer) => timer.tick(time.delta()).just_finished(),
    };
    if !due {
        return;
    }
    let mut list: Vec<_> = mods.iter().collect();
    list.sort_by(|a, b| a.1.as_str().cmp(b.1.as_str()));
    let rows = *rows;
    commands.entity(rows).despawn_children();
    for (entity, name, status, _) in list {
        let name = name.as_str().trim_start_matches("mod ");
        let color = match status {
            ModStatus::Idle => GOOD,
            ModStatus::Running | ModStatus::Loading | ModStatus::Starting => BUSY,
            ModStatus::Crashed(_) | ModStatus::Exited(_) => BAD,
        };
        let per_frame = fuel.get(&entity).copied().unwrap_or(0.0);
        let fuel = if status.is_alive() {
            fuel_text(per_frame)
        } else {
            String::new()
        };
        let detail = match status {
            ModStatus::Crashed(error) => (error.to_string(), BAD),
            ModStatus::Exited(code) => (format!("exited with code {code}"), BAD),
            _ => (
                activity.by_mod.get(name).map(describe).unwrap_or_default(),
                DIM,
            ),
        };
        let row = commands
            .spawn((
                Node {
                    flex_direction: FlexDirection::Column,
                    row_gap: px(2),
                    ..default()
                },
                children![
                    (
                        Text::new(format!("{name:<12}")),
                        TextFont::from_font_size(18.0),
                        TextColor(TEXT),
                        children![
                            (
                                TextSpan::new(format!("{:<8}", status.label())),
                                TextFont::from_font_size(16.0),
                                TextColor(color),
                            ),
                            (
                                TextSpan::new(format!(" {fuel:>16}")),
                                TextFont::from_font_size(14.0),
                                TextColor(DIM),
                            ),
                        ],
                    ),
                    (
                        Text::new(detail.0),
                        TextFont::from_font_size(14.0),
                        TextColor(detail.1),
                    ),
                ],
            ))
            .id();
        commands.entity(rows).add_child(row);
    }
}

/// What a mod has shown or done, for its second line.
fn describe(activity: &Activity) -> String {
    if let Some(greeting) = &activity.greeting {
        return format!("\"{greeting}\"");
    }
    let mut parts = Vec::new();
    if let Some(hud) = &activity.hud {
        parts.push(hud.clone());
    }
    if activity.spawned > 0 {
        parts.push(format!("spawned {}", count(activity.spawned, "critter")));
    }
    if activity.backgrounds > 0 {
        parts.push(format!(
            "painted the floor {}",
            count(activity.backgrounds, "time")
        ));
    }
    parts.join(", ")
}

/// `1 critter`, `2 critters`.
fn count(n: u32, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

fn fuel_text(per_frame: f32) -> String {
    if per_frame >= 1e6 {
        format!("{:.2}M fuel/frame", per_frame / 1e6)
    } else if per_frame >= 1e3 {
        format!("{:.0}k fuel/frame", per_frame / 1e3)
    } else {
        format!("{per_frame:.0} fuel/frame")
    }
}

/// Saves a screenshot once the scene has played for a while and the rogue mod has been
/// stopped, then quits.
fn take_screenshot(
    mut commands: Commands,
    time: Res<Time>,
    to: Res<ScreenshotTo>,
    mods: Query<&ModStatus>,
    mut crashed_at: Local<Option<f32>>,
    mut taken_at: Local<Option<f32>>,
    mut exit: MessageWriter<AppExit>,
) {
    let now = time.elapsed_secs();
    if crashed_at.is_none() && mods.iter().any(|s| matches!(s, ModStatus::Crashed(_))) {
        *crashed_at = Some(now);
    }
    // On a slow (software) renderer game time runs slow too: wait for the rogue mod's
    // crash to be on the panel.
    let ready = now >= SCREENSHOT_AT && crashed_at.is_some_and(|at| now >= at + 0.6)
        || now >= SCREENSHOT_LATEST;
    match *taken_at {
        None if ready => {
            info!("saving a screenshot to {}", to.0.display());
            commands
                .spawn(Screenshot::primary_window())
                .observe(save_to_disk(to.0.clone()));
            *taken_at = Some(now);
        }
        Some(at) if now >= at + 1.5 => {
            exit.write(AppExit::Success);
        }
        _ => {}
    }
}
