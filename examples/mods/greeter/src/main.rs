//! The smallest useful mod: a type, a trait impl, one macro line.
//!
//! - `greet {"name": …}` answers `{"text": "Good <time of day>, <name>! (greeting #n)"}`,
//!   asking the game for the time of day with a host call (`game.time_of_day`);
//! - it counts greetings in its own state, which persists between calls;
//! - it tells the game about each greeting with a notification (`greeter.greeted`).

use bevy_wasmi_plugins_pdk::prelude::*;
use game_api::{GAME_TIME_OF_DAY, Greet, Greeting};

#[derive(Default)]
struct Greeter {
    greetings: State<u32>,
}

impl Plugin for Greeter {
    fn methods(methods: &mut Methods<Self>) {
        methods.add("greet", Self::greet);
    }
}

impl Greeter {
    async fn greet(&'static self, p: Greet) -> Result<Greeting, Error> {
        let time_of_day = GAME_TIME_OF_DAY.call(&()).await?;
        let n = self.greetings.with(|n| {
            *n += 1;
            *n
        });
        host::notify("greeter.greeted", &[&p.name])?;
        log::info!("greeted {} ({n} so far)", p.name);
        Ok(Greeting {
            text: format!("Good {time_of_day}, {}! (greeting #{n})", p.name),
        })
    }
}

register_plugin!(Greeter);
