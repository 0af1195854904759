//! The browser build's report: once the game has played for a while, every mod is
//! judged as `--headless` judges it, and the verdict goes to the browser console,
//! where `bash scripts/web.sh --check` (headless Chromium) reads it.
//!
//! The console then shows one `web check:` line per mod and a last line,
//! `web check: every mod did its job` or `web check: some mods did not do their job`.

use bevy::prelude::*;

use crate::game;

/// Judges the mods once, on the console.
pub struct WebCheckPlugin;

/// Game seconds of play before the verdict, at the earliest (as many as `--headless`
/// plays); it is given once every mod has done its job.
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
    if now < JUDGE_AT {
        return;
    }
    // A slow browser plays fewer frames a second: the verdict waits until every mod has
    // done its job (the others' after rogue was stopped included), or until the latest.
    let lines = game::report(world);
    if !(lines.iter().all(|line| line.ok) || now >= JUDGE_LATEST) {
        return;
    }
    *judged = true;
    for line in &lines {
        info!("web check: {line}");
    }
    if lines.iter().all(|line| line.ok) {
        info!("web check: every mod did its job after {now:.1} s");
    } else {
        error!("web check: some mods did not do their job after {now:.1} s");
    }
}
