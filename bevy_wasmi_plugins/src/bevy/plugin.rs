//! [`WasmiPluginsPlugin`]: the one line a game adds, its builder configuration, and the
//! ordered [`WasmiPluginsSystems`]. This is the one place that wires the Bevy layer
//! together: assets, messages, resources and systems. What the systems do lives in
//! their own modules ([`source`](crate::bevy::source) finds mods, the driver runs them).

use std::time::Duration;

use crate::bevy::bevy_prelude::*;
use bevy_asset::AssetApp;
use bevy_ecs::intern::Interned;
use bevy_ecs::schedule::ScheduleLabel;

use crate::bevy::asset::{ModList, ModListLoader, WasmModAsset, WasmModLoader};
use crate::bevy::calls::{ModCallResult, ModNotification};
use crate::bevy::driver::tracking::{
    ModChanges, mod_inserted, mod_removed, permissions_inserted, permissions_removed,
};
use crate::bevy::driver::{ModDriver, drive_mods, unload_mods_on_exit};
use crate::bevy::host_methods::HostMethods;
use crate::bevy::mods::{ModFuel, ModInfo, ModStatus, ModStatusChanged, WasmMod};
use crate::bevy::permissions::ModPermissions;
use crate::bevy::rpc::ModRpc;
use crate::bevy::settings::{RestartPolicy, WasmiPluginsSettings};
use crate::bevy::source::{ModSource, load_source, spawn_source_mods};
use crate::runtime::{Compilation, Limits, Runtime};

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
///    mods folder (or listed in its `.modlist`), once the folder is listed. Each mod
///    loads on its own: a file that fails to load gives only that mod
///    [`ModStatus::Crashed`] with
///    [`ModErrorKind::LoadFailed`](crate::runtime::ModErrorKind::LoadFailed).
/// 2. [`WasmiPluginsSystems::Drive`]: the exclusive driver. It starts mods whose assets
///    have loaded (`plugin.init`), restarts changed ones (`plugin.shutdown`, then
///    `plugin.init` with the saved state), delivers the game's calls, notifications and
///    events, and runs every mod that has work with its fuel slice, answering its host
///    calls against the `World` right away, round-robin under the frame's wall-time
///    budget. Idle mods cost almost nothing.
///
/// In `Last`: when an [`AppExit`] is written, every mod is unloaded as if despawned
/// (`plugin.shutdown` with one fuel slice to answer; calls in flight fail).
///
/// ## Observers
///
/// Inserting, replacing or removing a [`WasmMod`] or a [`ModPermissions`] is noted by
/// observers and applied by the driver at the start of its next run: a new `WasmMod`
/// starts a mod, a replaced one restarts it with the new value, a removed one (or a
/// despawned entity) unloads it, and new permissions hold from the mod's next request.
///
/// ## Messages
///
/// [`ModStatusChanged`], [`ModCallResult`], [`ModNotification`].
///
/// ## Reflection
///
/// [`WasmMod`], [`ModStatus`], [`ModInfo`], [`ModFuel`] and [`ModPermissions`] are
/// registered, so inspectors show them.
#[derive(Clone, Debug)]
pub struct WasmiPluginsPlugin {
    settings: WasmiPluginsSettings,
    source: ModSource,
    schedule: Interned<dyn ScheduleLabel>,
    compilation: Compilation,
}

impl Default for WasmiPluginsPlugin {
    fn default() -> Self {
        Self::new()
    }
}

impl WasmiPluginsPlugin {
    /// The defaults: mods from `assets/mods/`, [`WasmiPluginsSettings::default`], in
    /// `Update`, compiled as [`WasmiPluginsPlugin::with_compilation`] says.
    #[must_use]
    pub fn new() -> Self {
        WasmiPluginsPlugin {
            settings: WasmiPluginsSettings::default(),
            source: ModSource::Folder("mods".into()),
            schedule: Update.intern(),
            compilation: if cfg!(all(target_arch = "wasm32", target_os = "unknown")) {
                Compilation::Deferred
            } else {
                Compilation::Lazy
            },
        }
    }

    /// Sets how mods are compiled.
    ///
    /// By default [`Compilation::Lazy`] natively, where Bevy's asset loader compiles on
    /// a background thread, so validating a whole mod up front costs no frame time and
    /// an invalid mod fails to load; and [`Compilation::Deferred`] in a browser, where
    /// the loader runs on the frame's thread and validating up front would stall a
    /// frame for tens of milliseconds per mod (each function is then validated and
    /// translated when a mod first runs it, within its fuel slices).
    ///
    /// ```
    /// use bevy_wasmi_plugins::prelude::*;
    /// use bevy_wasmi_plugins::runtime::Compilation;
    /// let plugin = WasmiPluginsPlugin::default().with_compilation(Compilation::Eager);
    /// ```
    #[must_use]
    pub fn with_compilation(mut self, compilation: Compilation) -> Self {
        self.compilation = compilation;
        self
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

    /// Sets how many frames a game → mod call may wait for its answer (600 by default;
    /// see [`WasmiPluginsSettings::call_deadline_frames`]).
    #[must_use]
    pub fn with_call_deadline_frames(mut self, frames: u32) -> Self {
        self.settings.call_deadline_frames = frames;
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

/// The plugin's systems, in the order they run.
#[derive(SystemSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WasmiPluginsSystems {
    /// Spawns mod entities for the mods folder or list.
    Load,
    /// The driver: starts, reloads, feeds and runs the mods.
    Drive,
}

impl Plugin for WasmiPluginsPlugin {
    fn build(&self, app: &mut App) {
        let runtime = Runtime::with_compilation(self.compilation);
        let (rpc, inbox) = ModRpc::new();
        let driver = ModDriver::new(inbox, rpc.directory());
        let changes = ModChanges::existing(app.world_mut());
        app.init_asset::<WasmModAsset>()
            .init_asset::<ModList>()
            .register_asset_loader(WasmModLoader { runtime })
            .register_asset_loader(ModListLoader)
            .register_type::<ModPermissions>()
            .register_type::<WasmMod>()
            .register_type::<ModStatus>()
            .register_type::<ModInfo>()
            .register_type::<ModFuel>()
            .add_message::<ModStatusChanged>()
            .add_message::<ModCallResult>()
            .add_message::<ModNotification>()
            .insert_resource(self.settings.clone())
            .insert_resource(rpc)
            .insert_resource(driver)
            .insert_resource(changes)
            .init_resource::<HostMethods>()
            .add_observer(mod_inserted)
            .add_observer(mod_removed)
            .add_observer(permissions_inserted)
            .add_observer(permissions_removed)
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
            )
            .add_systems(Last, unload_mods_on_exit);
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
