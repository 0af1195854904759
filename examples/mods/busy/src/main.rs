//! A mod that works hard when asked, for the `fuel_budget` example.
//!
//! - `sum_to {"n": …}` adds up `0 + 1 + … + (n - 1)` one step at a time and answers the
//!   sum (wrapping at `u64::MAX`). It takes about fifteen fuel per step, so a large `n`
//!   needs many frames' fuel slices: the game pauses the mod when its slice is spent
//!   and resumes it next frame.
//! - `spin` never returns: an endless loop, which the game's
//!   `Limits::max_fuel_per_activation` turns into a crash instead of a mod that burns
//!   its slice every frame forever.
//!
//! It does nothing until it is called, so it is harmless in a game that never calls it.

use std::hint::black_box;

use bevy_wasmi_plugins_pdk::prelude::*;
use serde::Deserialize;

#[derive(Default)]
struct Busy;

#[derive(Deserialize)]
struct SumTo {
    n: u64,
}

impl Plugin for Busy {
    fn methods(methods: &mut Methods<Self>) {
        methods.add("sum_to", Self::sum_to).add("spin", Self::spin);
    }
}

impl Busy {
    async fn sum_to(&'static self, p: SumTo) -> Result<u64, Error> {
        let mut sum = 0u64;
        for i in 0..p.n {
            // `black_box` keeps the optimiser from replacing the loop with n(n-1)/2.
            sum = black_box(sum.wrapping_add(i));
        }
        log::info!("sum_to {} = {sum}", p.n);
        Ok(sum)
    }

    async fn spin(&'static self) -> Result<(), Error> {
        log::warn!("spinning forever");
        let mut turns = 0u64;
        loop {
            turns = black_box(turns.wrapping_add(1));
        }
    }
}

register_plugin!(Busy);
