//! The modding example, run headless: every mod in `assets/mods/` does its job, the C
//! mod included, and the rogue mod is stopped while the others keep working.
#![allow(clippy::unwrap_used)]

#[path = "../examples/modding/game.rs"]
#[allow(dead_code)]
mod game;

use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;

#[test]
fn every_example_mod_does_its_job_and_the_rogue_is_stopped() {
    let mut app = App::new();
    let report = game::run_headless(600, &mut app);
    let summary: Vec<String> = report
        .iter()
        .map(|l| format!("{} {} {} ok={}", l.name, l.status, l.did, l.ok))
        .collect();
    for line in &report {
        assert!(
            line.ok,
            "{} did not do its job:\n{}",
            line.name,
            summary.join("\n")
        );
    }

    // The rogue was stopped by the game's fuel guard, and the error names it.
    let rogue = report.iter().find(|l| l.name == "rogue").unwrap();
    let ModStatus::Crashed(error) = &rogue.status else {
        panic!("rogue is {}", rogue.status)
    };
    let message = error.to_string();
    assert!(message.contains("`rogue`"), "{message}");
    assert!(message.contains("fuel"), "{message}");

    // The C mod painted the floor, and the other mods kept going after the rogue
    // crashed (six seconds in): the game kept counting ticks and bounces.
    let world = app.world();
    let activity = world.resource::<game::ModActivity>();
    assert!(activity.by_mod["pulse"].backgrounds >= 2, "{activity:?}");
    assert_ne!(
        world.resource::<game::Background>().0,
        game::Background::default().0
    );
    assert!(world.resource::<game::Ticks>().0 >= 600);
    let spawned = activity.by_mod["spawner"].spawned;
    let critters = app
        .world_mut()
        .query::<&game::Critter>()
        .iter(app.world())
        .count();
    assert_eq!(critters as u32, spawned);
}

/// The game's components are the ones its mod API names: a mod reaching them with
/// `world.*` through `game_api` uses the game's type paths.
#[test]
fn the_mod_api_names_the_games_components() {
    use bevy_wasmi_plugins_pdk::ecs::Component as ModComponent;
    assert_eq!(
        <game_api::Critter as ModComponent>::TYPE_PATH,
        <game::Critter as TypePath>::type_path()
    );
    assert_eq!(
        <game_api::Velocity as ModComponent>::TYPE_PATH,
        <game::Velocity as TypePath>::type_path()
    );
    assert_eq!(
        <game_api::Transform as ModComponent>::TYPE_PATH,
        <Transform as TypePath>::type_path()
    );
}
