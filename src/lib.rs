//! This package holds the examples of `bevy_wasmi_plugins` and their tests; it has no
//! API of its own. Start with `cargo run --example modding`, and read
//! `examples/README.md`.
