//! Serves the methods of the JSON-RPC 2.0 specification's examples (`subtract`, `sum`,
//! `get_data`; the notifications `update`, `notify_hello` and `notify_sum` are ignored),
//! answering anything else with the specification's plain `Method not found`, so a
//! host can replay the examples against a real mod.

use bevy_wasmi_plugins_pdk::prelude::*;
use serde::Deserialize;

#[derive(Default)]
struct Spec;

/// `subtract` takes `[minuend, subtrahend]` or `{"minuend", "subtrahend"}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Subtract {
    Positional(i64, i64),
    Named { minuend: i64, subtrahend: i64 },
}

impl Plugin for Spec {
    fn methods(methods: &mut Methods<Self>) {
        methods
            .add("subtract", |_: &'static Self, p: Subtract| async move {
                let (minuend, subtrahend) = match p {
                    Subtract::Positional(a, b) => (a, b),
                    Subtract::Named {
                        minuend,
                        subtrahend,
                    } => (minuend, subtrahend),
                };
                Ok(minuend.wrapping_sub(subtrahend))
            })
            .add("sum", |_: &'static Self, numbers: Vec<i64>| async move {
                Ok(numbers.iter().fold(0i64, |a, b| a.wrapping_add(*b)))
            })
            .add(
                "get_data",
                |_: &'static Self| async move { Ok(("hello", 5)) },
            );
    }

    async fn handle(&'static self, _method: &str, _params: Params<'_>) -> Result<Json, Error> {
        Err(Error::standard(ErrorCode::MethodNotFound))
    }
}

register_plugin!(Spec);
