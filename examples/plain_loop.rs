//! Drives a mod with a plain loop, no Bevy: load `assets/mods/greeter.wasm`, call its
//! `greet` method three times, answer its host call, and print what it says, logs and
//! notifies.
//!
//! ```text
//! cargo run --example plain_loop
//! ```

use bevy_wasmi_plugins::protocol::{Notification, Outcome, Request, ResponseError, to_raw};
use bevy_wasmi_plugins::runtime::{ModConfig, ModHost, ModInstance, RunStatus, Runtime};

/// The game's side: one host method, and printing what the mod logs and notifies.
struct Game;

impl ModHost for Game {
    fn request(&mut self, _mod_name: &str, request: &Request<'_>) -> Outcome {
        match &*request.method {
            "game.time_of_day" => to_raw("evening"),
            _ => Err(ResponseError::method_not_found(&request.method)),
        }
    }

    fn notification(&mut self, mod_name: &str, notification: &Notification<'_>) {
        let params = notification.params.map_or("", |p| p.get());
        println!("[{mod_name}] notification {} {params}", notification.method);
    }

    fn log(&mut self, mod_name: &str, line: &str) {
        println!("[{mod_name}] log: {line}");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/mods/greeter.wasm");
    let runtime = Runtime::new();
    let module = runtime.compile("greeter", &std::fs::read(path)?)?;
    let mut greeter = ModInstance::new(&module, &ModConfig::default())?;

    for name in ["Ada", "Grace", "Linus"] {
        let call = greeter.call("greet", &serde_json::json!({ "name": name }));
        // One "frame" per iteration: a fuel slice, then check the answer.
        let answer = loop {
            let status = greeter.run(1_000_000, &mut Game)?;
            if let Some(answer) = call.try_result() {
                break answer;
            }
            assert_eq!(
                status,
                RunStatus::Yielded,
                "the mod stopped without answering"
            );
        };
        println!("greet({name}) -> {}", answer?.get());
        println!("  fuel used by the last run: {}", greeter.last_fuel());
    }
    Ok(())
}
