//! The browser build's report: once the game has played for a while, every mod is
//! judged as `--headless` judges it, and the verdict goes to the browser console,
//! where `bash scripts/web.sh --check` (headless Chromium) reads it.
//!
//! The console then shows one `web check:` line per mod and a last line,
//! `web check: every mod did its job` or `web check: some mods did not do their job`.

use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;

use crate::game;

/// Judges the mods once, on the console.
pub struct WebCheckPlugin;

/// Game seconds of play before the verdict, at the earliest (as many as `--headless`
/// plays), once the rogue mod has been stopped.
const JUDGE_AT: f32 = 10.0;
/// Game seconds after which the verdict is given whatever the mods are doing.
const JUDGE_LATEST: f32 = 40.0;

impl Plugin for WebCheckPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Last, judge);
    }
}

/// Logs every mod's report once the mods have had their time.
fn judge(world: &mut World, mut judged: Local<bool>) {
    if *judged {
        return;
    }
    let now = world.resource::<Time>().elapsed_secs();
    let rogue_stopped = world
        .query::<(&Name, &ModStatus)>()
        .iter(world)
        .any(|(name, status)| name.as_str() == "mod rogue" && !status.is_alive());
    if !(now >= JUDGE_AT && rogue_stopped || now >= JUDGE_LATEST) {
        return;
    }
    *judged = true;
    let lines = game::report(world);
    for line in &lines {
        info!("web check: {line}");
    }
    if lines.iter().all(|line| line.ok) {
        info!("web check: every mod did its job after {now:.1} s");
    } else {
        error!("web check: some mods did not do their job after {now:.1} s");
    }
}
