//! [`WasmiPluginsPlugin`]: the one line a game adds; its configuration, the
//! runtime-tunable [`WasmiPluginsSettings`], and the ordered [`WasmiPluginsSystems`].

use std::time::Duration;

use bevy::asset::AssetApp;
#[cfg(not(target_arch = "wasm32"))]
use bevy::asset::{AssetPath, AssetServerMode, io::ErasedAssetReader};
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
///    mods folder (or listed in its `.modlist`), once the folder is listed. Each mod
///    loads on its own: a file that fails to load gives only that mod
///    [`ModStatus::Crashed`](crate::mods::ModStatus::Crashed) with
///    [`ModError::LoadFailed`](crate::runtime::ModError::LoadFailed).
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
    /// Every `.wasm` in this asset folder and its subfolders, each loaded on its own (a
    /// file that does not load crashes only its own mod). When the asset source is
    /// watched for changes (Bevy's `file_watcher`), the folder is listed again every
    /// second and new `.wasm` files start as new mods. On the web, where a folder cannot
    /// be listed, the mods named in `<folder>/index.modlist` instead.
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
    /// The listing of the folder's `.wasm` files, from a task on the `IoTaskPool`.
    #[cfg(not(target_arch = "wasm32"))]
    Folder(String, Listing),
    /// A watched folder, listed again now and then for new `.wasm` files.
    #[cfg(not(target_arch = "wasm32"))]
    Watching(FolderWatch),
    List(Handle<ModList>),
    Done,
}

/// A folder listing on its way from the `IoTaskPool`.
#[cfg(not(target_arch = "wasm32"))]
type Listing = async_channel::Receiver<Result<Vec<AssetPath<'static>>, String>>;

/// How often a watched mods folder is listed again.
#[cfg(not(target_arch = "wasm32"))]
const RELIST_EVERY: Duration = Duration::from_secs(1);

/// A watched mods folder: the files it had, and the next listing.
#[cfg(not(target_arch = "wasm32"))]
struct FolderWatch {
    folder: String,
    known: std::collections::HashSet<AssetPath<'static>>,
    listing: Option<Listing>,
    next: std::time::Instant,
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
        ModSource::Folder(folder) => {
            PendingSource::Folder(folder.clone(), list_folder(assets, folder))
        }
        #[cfg(target_arch = "wasm32")]
        ModSource::Folder(folder) => {
            PendingSource::List(assets.load(format!("{folder}/index.modlist")))
        }
        ModSource::List(path) => PendingSource::List(assets.load(path.clone())),
    }
}

/// Lists the `.wasm` files under `folder` through the asset source's reader, on the
/// `IoTaskPool`. Bevy's `load_folder` fails as a whole when one file fails to load; this
/// only lists, so that each mod loads (and fails) on its own.
#[cfg(not(target_arch = "wasm32"))]
fn list_folder(assets: &AssetServer, folder: &str) -> Listing {
    let (sender, receiver) = async_channel::bounded(1);
    let server = assets.clone();
    let folder = AssetPath::parse(folder).into_owned();
    bevy::tasks::IoTaskPool::get()
        .spawn(async move {
            let listing = wasm_files(&server, &folder)
                .await
                .map_err(|e| format!("the mods folder `{folder}` could not be listed: {e}"));
            let _ = sender.try_send(listing);
        })
        .detach();
    receiver
}

/// The `.wasm` files under `folder`, sorted (so mods spawn in a stable order).
#[cfg(not(target_arch = "wasm32"))]
async fn wasm_files(
    server: &AssetServer,
    folder: &AssetPath<'static>,
) -> Result<Vec<AssetPath<'static>>, String> {
    let source = server
        .get_source(folder.source().clone_owned())
        .map_err(|e| e.to_string())?;
    let reader = match server.mode() {
        AssetServerMode::Unprocessed => source.reader(),
        AssetServerMode::Processed => source.processed_reader().map_err(|e| e.to_string())?,
    };
    let mut found = Vec::new();
    let mut folders = vec![folder.path().to_path_buf()];
    while let Some(dir) = folders.pop() {
        let mut entries = reader
            .read_directory(&dir)
            .await
            .map_err(|e| e.to_string())?;
        while let Some(path) = bevy::tasks::futures_lite::StreamExt::next(&mut entries).await {
            if is_directory(reader, &path).await {
                folders.push(path);
            } else if path
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("wasm"))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found
        .into_iter()
        .map(|path| AssetPath::from(path).with_source(source.id()))
        .collect())
}

#[cfg(not(target_arch = "wasm32"))]
async fn is_directory(reader: &dyn ErasedAssetReader, path: &std::path::Path) -> bool {
    reader.is_directory(path).await.unwrap_or(false)
}

/// Spawns a [`WasmMod`] for every mod of the folder or list, once it is known.
fn spawn_source_mods(
    mut commands: Commands,
    pending: Option<ResMut<PendingSource>>,
    lists: Res<Assets<ModList>>,
    assets: Res<AssetServer>,
) {
    let Some(mut pending) = pending else {
        return;
    };
    let handles: Vec<Handle<WasmModAsset>> = match &mut *pending {
        PendingSource::Done => return,
        #[cfg(not(target_arch = "wasm32"))]
        PendingSource::Watching(watch) => {
            for path in watch.poll(&assets) {
                info!("new mod file `{path}`: loading it");
                commands.spawn(WasmMod::new(assets.load(path)));
            }
            return;
        }
        #[cfg(not(target_arch = "wasm32"))]
        PendingSource::Folder(folder, listing) => match listing.try_recv() {
            Ok(Ok(paths)) if assets.watching_for_changes() => {
                for path in &paths {
                    commands.spawn(WasmMod::new(assets.load(path.clone())));
                }
                *pending = PendingSource::Watching(FolderWatch {
                    folder: std::mem::take(folder),
                    known: paths.into_iter().collect(),
                    listing: None,
                    next: std::time::Instant::now() + RELIST_EVERY,
                });
                return;
            }
            Ok(Ok(paths)) => paths.into_iter().map(|path| assets.load(path)).collect(),
            Ok(Err(message)) => {
                warn!("{message}; no mods were loaded from it");
                *pending = PendingSource::Done;
                return;
            }
            Err(async_channel::TryRecvError::Empty) => return,
            Err(async_channel::TryRecvError::Closed) => {
                warn!("the mods folder listing stopped before it finished");
                *pending = PendingSource::Done;
                return;
            }
        },
        PendingSource::List(handle) => match lists.get(&*handle) {
            Some(list) => list
                .paths
                .iter()
                .map(|path| assets.load(path.clone()))
                .collect(),
            None => {
                if assets.load_state(&*handle).is_failed() {
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

#[cfg(not(target_arch = "wasm32"))]
impl FolderWatch {
    /// Starts a listing when one is due and returns the files that are new in a finished
    /// one.
    fn poll(&mut self, assets: &AssetServer) -> Vec<AssetPath<'static>> {
        let Some(listing) = &self.listing else {
            if std::time::Instant::now() >= self.next {
                self.listing = Some(list_folder(assets, &self.folder));
            }
            return Vec::new();
        };
        let found = match listing.try_recv() {
            Err(async_channel::TryRecvError::Empty) => return Vec::new(),
            Ok(Ok(paths)) => paths
                .into_iter()
                .filter(|path| self.known.insert(path.clone()))
                .collect(),
            // The folder may be gone for a moment (say, while it is replaced): try again
            // at the next listing.
            Ok(Err(message)) => {
                debug!("{message}");
                Vec::new()
            }
            Err(async_channel::TryRecvError::Closed) => Vec::new(),
        };
        self.listing = None;
        self.next = std::time::Instant::now() + RELIST_EVERY;
        found
    }
}
