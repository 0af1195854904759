//! This package holds the examples of `bevy_wasmi_plugins` and their tests. Start with
//! `cargo run --example modding`, and read `examples/README.md`.
//!
//! The examples read their mods from Bevy's default asset folder, `assets/`, found at
//! run time: under `BEVY_ASSET_ROOT` if it is set, else under the package's folder when
//! cargo runs them (`CARGO_MANIFEST_DIR`), else next to the executable; in a browser,
//! beside the page. No path is fixed when they are compiled.
