//! [`WasmiPluginsPlugin`]: the one line a game adds; its configuration, the
//! runtime-tunable [`WasmiPluginsSettings`], and the ordered [`WasmiPluginsSystems`].

use std::time::Duration;

use bevy::asset::{AssetApp, LoadedFolder};
use bevy::ecs::intern::Interned;
use bevy::ecs::schedule::ScheduleLabel;
use bevy::prelude::*;

use crate::asset::{ModList, ModListLoader, WasmModAsset, WasmModLoader};
use crate::calls::{ModCallResult, ModNotification, ModRpc};
use crate::driver::{ModDriver, RestartPolicy, drive_mods};
use crate::host_methods::HostMethods;
use crate::mods::{ModStatusChanged, WasmMod};
use crate::permissions::ModPermissions;
use crate::runtime::{Limits, Runtime};

/// Runs `.wasm` mods inside the game.
///
/// ```no_run
/// use bevy::prelude::*;
/// use bevy_wasmi_plugins::prelude::*;
///
/// App::new()
///     .add_plugins((
///         MinimalPlugins,
///         AssetPlugin::default(),
///         WasmiPluginsPlugin::default().with_fuel_per_frame(2_000_000),
///     ))
///     .run();
/// ```
///
/// It needs Bevy's `AssetPlugin` (in `DefaultPlugins`), added before it.
///
/// ## Systems
///
/// In the chosen schedule (`Update` by default), in this order:
///
/// 1. [`WasmiPluginsSystems::Load`]: spawns a [`WasmMod`] entity for every `.wasm` in the
///    mods folder (or listed in its `.modlist`), once it is loaded.
/// 2. [`WasmiPluginsSystems::Drive`]: the exclusive driver. It starts mods whose assets
///    have loaded (`plugin.init`), restarts changed ones (`plugin.shutdown`, then
///    `plugin.init` with the saved state), delivers the game's calls, notifications and
///    events, and runs every mod that has work with its fuel slice, answering its host
///    calls against the `World` right away, round-robin under the frame's wall-time
///    budget. Idle mods cost almost nothing.
///
/// ## Messages
///
/// [`ModStatusChanged`], [`ModCallResult`], [`ModNotification`].
#[derive(Clone, Debug)]
pub struct WasmiPluginsPlugin {
    settings: WasmiPluginsSettings,
    source: ModSource,
    schedule: Interned<dyn ScheduleLabel>,
}

/// Where the plugin finds mods by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModSource {
    /// Nothing: the game spawns [`WasmMod`] entities itself.
    None,
    /// Every `.wasm` in this asset folder. On the web, where a folder cannot be listed,
    /// the mods named in `<folder>/index.modlist` instead.
    Folder(String),
    /// The mods named in this `.modlist` asset (one path per line, relative to it).
    List(String),
}

impl Default for WasmiPluginsPlugin {
    fn default() -> Self {
        Self::new()
    }
}

impl WasmiPluginsPlugin {
    /// The defaults: mods from `assets/mods/`, [`WasmiPluginsSettings::default`], in
    /// `Update`.
    #[must_use]
    pub fn new() -> Self {
        WasmiPluginsPlugin {
            settings: WasmiPluginsSettings::default(),
            source: ModSource::Folder("mods".into()),
            schedule: Update.intern(),
        }
    }

    /// Sets the fuel each mod may use per frame.
    #[must_use]
    pub fn with_fuel_per_frame(mut self, fuel: u64) -> Self {
        self.settings.fuel_per_frame = fuel;
        self
    }

    /// Sets the wall-time budget per frame for all mods together.
    #[must_use]
    pub fn with_frame_budget(mut self, budget: Duration) -> Self {
        self.settings.frame_budget = budget;
        self
    }

    /// Sets the limits of every mod (a mod's `.meta` settings can change some).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.settings.limits = limits;
        self
    }

    /// Sets the permissions of mods without their own.
    #[must_use]
    pub fn with_default_permissions(mut self, permissions: ModPermissions) -> Self {
        self.settings.default_permissions = permissions;
        self
    }

    /// Sets when crashed mods are restarted (never, by default).
    #[must_use]
    pub fn with_restart_policy(mut self, policy: RestartPolicy) -> Self {
        self.settings.restart_policy = policy;
        self
    }

    /// Sets where mods are found by themselves.
    #[must_use]
    pub fn with_mod_source(mut self, source: ModSource) -> Self {
        self.source = source;
        self
    }

    /// Sets the schedule the systems run in.
    #[must_use]
    pub fn in_schedule(mut self, schedule: impl ScheduleLabel) -> Self {
        self.schedule = schedule.intern();
        self
    }
}

/// The plugin's settings, a resource the game may change while it runs.
#[derive(Resource, Clone, Debug)]
pub struct WasmiPluginsSettings {
    /// Fuel each mod may use per frame (a `.meta` file can set it per mod). Default:
    /// 1 000 000, about a millisecond of guest work on a desktop.
    pub fuel_per_frame: u64,
    /// Wall time all mods together may take per frame; when it is spent the remaining
    /// mods go first next frame. Default: 4 ms.
    pub frame_budget: Duration,
    /// Limits of each new instance.
    pub limits: Limits,
    /// Permissions of mods without their own.
    pub default_permissions: ModPermissions,
    /// When crashed mods are restarted.
    pub restart_policy: RestartPolicy,
}

impl Default for WasmiPluginsSettings {
    fn default() -> Self {
        WasmiPluginsSettings {
            fuel_per_frame: 1_000_000,
            frame_budget: Duration::from_millis(4),
            limits: Limits::default(),
            default_permissions: ModPermissions::default(),
            restart_policy: RestartPolicy::never(),
        }
    }
}

/// The plugin's systems, in the order they run.
#[derive(SystemSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WasmiPluginsSystems {
    /// Spawns mod entities for the mods folder or list.
    Load,
    /// The driver: starts, reloads, feeds and runs the mods.
    Drive,
}

/// What the folder or list loader is waiting for.
#[derive(Resource)]
enum PendingSource {
    #[cfg(not(target_arch = "wasm32"))]
    Folder(Handle<LoadedFolder>),
    List(Handle<ModList>),
    Done,
}

impl Plugin for WasmiPluginsPlugin {
    fn build(&self, app: &mut App) {
        let runtime = Runtime::new();
        let (rpc, inbox) = ModRpc::new();
        app.init_asset::<WasmModAsset>()
            .init_asset::<ModList>()
            .register_asset_loader(WasmModLoader {
                runtime: runtime.clone(),
            })
            .register_asset_loader(ModListLoader)
            .register_type::<ModPermissions>()
            .add_message::<ModStatusChanged>()
            .add_message::<ModCallResult>()
            .add_message::<ModNotification>()
            .insert_resource(self.settings.clone())
            .insert_resource(rpc)
            .insert_resource(ModDriver::new(runtime, inbox))
            .init_resource::<HostMethods>()
            .configure_sets(
                self.schedule,
                (WasmiPluginsSystems::Load, WasmiPluginsSystems::Drive).chain(),
            )
            .add_systems(
                self.schedule,
                (
                    spawn_source_mods.in_set(WasmiPluginsSystems::Load),
                    drive_mods.in_set(WasmiPluginsSystems::Drive),
                ),
            );
        let source = self.source.clone();
        if source != ModSource::None {
            app.add_systems(
                Startup,
                move |mut commands: Commands, assets: Res<AssetServer>| {
                    commands.insert_resource(load_source(&source, &assets));
                },
            );
        }
    }
}

fn load_source(source: &ModSource, assets: &AssetServer) -> PendingSource {
    match source {
        ModSource::None => PendingSource::Done,
        #[cfg(not(target_arch = "wasm32"))]
        ModSource::Folder(folder) => PendingSource::Folder(assets.load_folder(folder.clone())),
        #[cfg(target_arch = "wasm32")]
        ModSource::Folder(folder) => {
            PendingSource::List(assets.load(format!("{folder}/index.modlist")))
        }
        ModSource::List(path) => PendingSource::List(assets.load(path.clone())),
    }
}

/// Spawns a [`WasmMod`] for every mod of the folder or list, once it has loaded.
fn spawn_source_mods(
    mut commands: Commands,
    pending: Option<ResMut<PendingSource>>,
    folders: Res<Assets<LoadedFolder>>,
    lists: Res<Assets<ModList>>,
    assets: Res<AssetServer>,
) {
    #[cfg(target_arch = "wasm32")]
    let _ = &folders; // the web has no folders to list
    let Some(mut pending) = pending else {
        return;
    };
    let handles: Vec<Handle<WasmModAsset>> = match &*pending {
        PendingSource::Done => return,
        #[cfg(not(target_arch = "wasm32"))]
        PendingSource::Folder(handle) => match folders.get(handle) {
            Some(folder) => folder
                .handles
                .iter()
                .filter_map(|h| h.clone().try_typed::<WasmModAsset>().ok())
                .collect(),
            None => {
                if assets.load_state(handle).is_failed() {
                    warn!("the mods folder could not be loaded");
                    *pending = PendingSource::Done;
                }
                return;
            }
        },
        PendingSource::List(handle) => match lists.get(handle) {
            Some(list) => list
                .paths
                .iter()
                .map(|path| assets.load(path.clone()))
                .collect(),
            None => {
                if assets.load_state(handle).is_failed() {
                    warn!("the mod list could not be loaded");
                    *pending = PendingSource::Done;
                }
                return;
            }
        },
    };
    for handle in handles {
        commands.spawn(WasmMod::new(handle));
    }
    *pending = PendingSource::Done;
}
