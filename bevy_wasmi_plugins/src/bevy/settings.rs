//! What the game tunes while it runs: [`WasmiPluginsSettings`], a resource the plugin
//! inserts from its builder, and the [`RestartPolicy`] for crashed mods. The plugin
//! writes them, the driver reads them; neither imports the other for them.

use std::time::Duration;

use crate::bevy::bevy_prelude::*;

use crate::bevy::permissions::ModPermissions;
use crate::runtime::Limits;

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
    /// Frames a game → mod call may wait for its answer before it fails with `-32007`
    /// (a `.meta` file's `call_deadline_frames` sets it per mod, and
    /// [`ModRpc::call_with_deadline`](crate::bevy::rpc::ModRpc::call_with_deadline) per
    /// call). Counted from the frame the driver receives the call in, also while the mod
    /// loads. Default: 600 (10 seconds at 60 frames a second). The fuel deadline is
    /// [`Limits::max_fuel_per_call`].
    pub call_deadline_frames: u32,
    /// Fuel a mod pays for each `world.*` or host method call it makes, for the host's
    /// work, on top of [`Limits::fuel_per_message`]. Default: 1 000.
    pub fuel_per_host_call: u64,
    /// Fuel a mod pays per entity a `world.*` call visits (a query, per entity it
    /// scans). Default: 100.
    pub fuel_per_entity: u64,
    /// Longest params of one `world.*` call, in bytes; a longer call is refused with
    /// `-32004` before it is parsed. One call is served whole (parsing and reflection
    /// cannot stop halfway), so this bounds the host's work per call. Default: 64 KiB.
    pub max_world_params: usize,
}

impl Default for WasmiPluginsSettings {
    fn default() -> Self {
        WasmiPluginsSettings {
            fuel_per_frame: 1_000_000,
            frame_budget: Duration::from_millis(4),
            limits: Limits::default(),
            default_permissions: ModPermissions::default(),
            restart_policy: RestartPolicy::never(),
            call_deadline_frames: 600,
            fuel_per_host_call: 1_000,
            fuel_per_entity: 100,
            max_world_params: 64 * 1024,
        }
    }
}

/// Reads the settings (the defaults if the game removed them), without cloning them:
/// the driver reads what it needs when it needs it, so a change takes effect at once.
pub(crate) fn with_settings<T>(world: &World, read: impl FnOnce(&WasmiPluginsSettings) -> T) -> T {
    match world.get_resource::<WasmiPluginsSettings>() {
        Some(settings) => read(settings),
        None => read(&WasmiPluginsSettings::default()),
    }
}

/// When to restart a crashed mod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Most restarts in a row (a mod that starts and answers `plugin.init` resets the
    /// count); 0 turns restarting off.
    pub max_restarts: u32,
    /// Wait before the first restart; doubled for each further one.
    pub backoff: Duration,
    /// Longest wait.
    pub max_backoff: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy::never()
    }
}

impl RestartPolicy {
    /// Crashed mods stay down (the default).
    #[must_use]
    pub const fn never() -> Self {
        RestartPolicy {
            max_restarts: 0,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }

    /// Up to `max_restarts` restarts in a row, waiting `backoff`, then twice as long
    /// each time, up to a minute.
    #[must_use]
    pub const fn with_backoff(max_restarts: u32, backoff: Duration) -> Self {
        RestartPolicy {
            max_restarts,
            backoff,
            max_backoff: Duration::from_secs(60),
        }
    }

    /// The wait before restart number `crashes` (1 for the first), if there is one.
    pub fn delay(&self, crashes: u32) -> Option<Duration> {
        if crashes == 0 || crashes > self.max_restarts {
            return None;
        }
        let factor = 1u32.checked_shl(crashes - 1).unwrap_or(u32::MAX);
        Some(self.backoff.saturating_mul(factor).min(self.max_backoff))
    }
}

#[cfg(test)]
mod tests {
    // Under Node (`scripts/web-test.sh`) these run through wasm-bindgen-test.
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stops_after_max_restarts() {
        let policy = RestartPolicy::with_backoff(3, Duration::from_millis(100));
        assert_eq!(policy.delay(1), Some(Duration::from_millis(100)));
        assert_eq!(policy.delay(2), Some(Duration::from_millis(200)));
        assert_eq!(policy.delay(3), Some(Duration::from_millis(400)));
        assert_eq!(policy.delay(4), None);
        assert_eq!(RestartPolicy::never().delay(1), None);
        let long = RestartPolicy::with_backoff(40, Duration::from_secs(1));
        assert_eq!(long.delay(30), Some(Duration::from_secs(60)));
    }
}
