//! Benchmark mod: `roundtrip` calls the host's `add` N times (guest → host round trips);
//! `ping` and `add` are trivial methods for host → guest round trips.

use bevy_wasmi_plugins_pdk::prelude::*;
use serde::Deserialize;

#[derive(Default)]
struct BenchGuest;

#[derive(Deserialize)]
struct Rounds {
    n: i64,
}

impl Plugin for BenchGuest {
    fn methods(methods: &mut Methods<Self>) {
        methods
            .add("roundtrip", Self::roundtrip)
            .add("ping", |_: &'static Self| async move { Ok("pong") })
            .add("add", |_: &'static Self, (a, b): (i64, i64)| async move {
                Ok(a.wrapping_add(b))
            });
    }
}

impl BenchGuest {
    /// Calls the host's `add` with `[i, 2]` for each `i` in `0..n`; returns the sum.
    async fn roundtrip(&'static self, p: Rounds) -> Result<i64, Error> {
        let mut sum = 0i64;
        for i in 0..p.n {
            let r: i64 = host::call("add", &[i, 2]).await?;
            sum = sum.wrapping_add(r);
        }
        Ok(sum)
    }
}

register_plugin!(BenchGuest);
