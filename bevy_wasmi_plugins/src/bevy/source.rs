//! Where mods come from by themselves: [`ModSource`] (a folder, a `.modlist`, or
//! nothing), and the discovery that lists the folder (again and again while Bevy's file
//! watcher runs) or reads the list, and spawns a [`WasmMod`] for every mod it finds.
//! [`WasmiPluginsPlugin`](crate::bevy::plugin::WasmiPluginsPlugin) adds the systems.

#[cfg(not(target_arch = "wasm32"))]
use std::time::Duration;

use crate::bevy::bevy_prelude::*;
#[cfg(not(target_arch = "wasm32"))]
use bevy_asset::{AssetPath, AssetServerMode, io::ErasedAssetReader};

use crate::bevy::asset::{ModList, WasmModAsset};
use crate::bevy::mods::WasmMod;

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

/// What the folder or list loader is waiting for.
#[derive(Resource)]
pub(crate) enum PendingSource {
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
pub(crate) struct FolderWatch {
    folder: String,
    known: std::collections::HashSet<AssetPath<'static>>,
    listing: Option<Listing>,
    next: std::time::Instant,
}

/// Starts finding the mods of `source`: the resource [`spawn_source_mods`] polls.
pub(crate) fn load_source(source: &ModSource, assets: &AssetServer) -> PendingSource {
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
    bevy_tasks::IoTaskPool::get()
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
        while let Some(path) = futures_lite::StreamExt::next(&mut entries).await {
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

/// Marks the mods spawned from the [`ModSource`] (the mods folder or list): a watched
/// folder unloads them when their file is deleted.
#[derive(Component, Debug, Clone, Copy, Default)]
pub struct FromModSource;

/// Spawns a [`WasmMod`] for every mod of the folder or list, once it is known; in a
/// watched folder, spawns new files' mods and despawns (unloads) the mods of deleted
/// files.
pub(crate) fn spawn_source_mods(
    mut commands: Commands,
    pending: Option<ResMut<PendingSource>>,
    lists: Res<Assets<ModList>>,
    assets: Res<AssetServer>,
    #[cfg(not(target_arch = "wasm32"))] sourced: Query<(Entity, &WasmMod), With<FromModSource>>,
) {
    let Some(mut pending) = pending else {
        return;
    };
    let handles: Vec<Handle<WasmModAsset>> = match &mut *pending {
        PendingSource::Done => return,
        #[cfg(not(target_arch = "wasm32"))]
        PendingSource::Watching(watch) => {
            let (added, removed) = watch.poll(&assets);
            for path in added {
                info!("new mod file `{path}`: loading it");
                commands.spawn((WasmMod::new(assets.load(path)), FromModSource));
            }
            for path in removed {
                for (entity, wasm_mod) in &sourced {
                    if wasm_mod.handle.path() == Some(&path) {
                        info!("mod file `{path}` was deleted: unloading its mod");
                        commands.entity(entity).despawn();
                    }
                }
            }
            return;
        }
        #[cfg(not(target_arch = "wasm32"))]
        PendingSource::Folder(folder, listing) => match listing.try_recv() {
            Ok(Ok(paths)) if assets.watching_for_changes() => {
                for path in &paths {
                    commands.spawn((WasmMod::new(assets.load(path.clone())), FromModSource));
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
        commands.spawn((WasmMod::new(handle), FromModSource));
    }
    *pending = PendingSource::Done;
}

#[cfg(not(target_arch = "wasm32"))]
impl FolderWatch {
    /// Starts a listing when one is due and returns the files that are new in a finished
    /// one, and the known files it no longer lists.
    fn poll(&mut self, assets: &AssetServer) -> (Vec<AssetPath<'static>>, Vec<AssetPath<'static>>) {
        let Some(listing) = &self.listing else {
            if std::time::Instant::now() >= self.next {
                self.listing = Some(list_folder(assets, &self.folder));
            }
            return (Vec::new(), Vec::new());
        };
        let found = match listing.try_recv() {
            Err(async_channel::TryRecvError::Empty) => return (Vec::new(), Vec::new()),
            Ok(Ok(paths)) => {
                let listed: std::collections::HashSet<_> = paths.iter().cloned().collect();
                let removed: Vec<_> = self
                    .known
                    .iter()
                    .filter(|path| !listed.contains(*path))
                    .cloned()
                    .collect();
                for path in &removed {
                    self.known.remove(path);
                }
                let added = paths
                    .into_iter()
                    .filter(|path| self.known.insert(path.clone()))
                    .collect();
                (added, removed)
            }
            // The folder may be gone for a moment (say, while it is replaced): try again
            // at the next listing, and unload nothing.
            Ok(Err(message)) => {
                debug!("{message}");
                (Vec::new(), Vec::new())
            }
            Err(async_channel::TryRecvError::Closed) => (Vec::new(), Vec::new()),
        };
        self.listing = None;
        self.next = std::time::Instant::now() + RELIST_EVERY;
        found
    }
}
