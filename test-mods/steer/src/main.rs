//! Benchmark mod for `benches/ecs.rs`: `steer` reads every entity with a `Transform` and
//! a `steer::Velocity` and writes each a new `Velocity` (a quarter turn of its position,
//! so it circles the origin), the way the `mode` says:
//!
//! - `"bulk"`: `bulk.query` + one `bulk.mutate_components` (this project's extension);
//! - `"brp_bulk"`: BRP's `world.query` + one `bulk.mutate_components`;
//! - `"per_entity"`: `world.query` + one `world.mutate_components` per entity (BRP alone);
//! - `"query"`: `bulk.query` only (the entities are remembered for `"write"`);
//! - `"query_brp"`: `world.query` only;
//! - `"write"`: one `bulk.mutate_components` for the entities the last query saw;
//! - `"packed"`, `"query_packed"`, `"write_packed"`: the same as `"bulk"`, `"query"` and
//!   `"write"` with the typed client in the packed form (`world::query_packed`,
//!   `Commands::mutate_packed`).
//!
//! It answers with the number of entities it steered (or read).
//!
//! For the watch tests: `relay {method, params}` calls any host method, and `watched`
//! answers (and forgets) the `watch.changed` notifications received so far. With the
//! PDK's typed watches: `watch_typed {kind, entity?}` subscribes (`kind` is `position`,
//! `list` or `bang`, for the tests' `Position` and `Bang`), `cancel_typed {watch}` ends
//! one, and `typed_watched` answers (and forgets) what `Watch::read` made of each
//! notification.

use std::cell::RefCell;

use bevy_wasmi_plugins_pdk::prelude::*;
use bevy_wasmi_plugins_pdk::protocol::brp::{
    BRP_MUTATE_COMPONENTS_METHOD, BRP_QUERY_METHOD, BULK_MUTATE_COMPONENTS_METHOD,
    BULK_QUERY_METHOD, BrpListComponentsWatchingResponse, BrpMutateComponentsParams, BrpQuery,
    BrpQueryParams, BrpQueryRow, BulkMutateComponentsParams, BulkQueryParams, BulkResponse,
};
use bevy_wasmi_plugins_pdk::world::{self, Changed, Observed, Watch, WatchChanged};
use serde::{Deserialize, Serialize};

const TRANSFORM: &str = "bevy_transform::components::transform::Transform";
const VELOCITY: &str = "steer::Velocity";

#[derive(Default)]
struct Steer {
    /// The entities and positions the last query saw.
    seen: RefCell<Vec<(u64, [f32; 2])>>,
    /// The `watch.changed` notifications not yet asked for (at most 1000).
    notes: RefCell<Vec<Json>>,
    /// The typed watches held.
    typed: RefCell<Vec<Typed>>,
    /// What the typed watches read, as text (at most 1000).
    typed_notes: RefCell<Vec<String>>,
}

/// The tests' `Position` component and `Bang` event (`tests/bevy.rs`, in the test crate
/// `bevy`).
#[derive(Debug, Serialize, Deserialize)]
struct Position {
    x: f32,
    y: f32,
}

#[derive(Debug, Serialize, Deserialize)]
struct Bang {
    power: u32,
}

/// `Transform` as the packed form reads it: every field, in the game's order.
#[derive(Serialize, Deserialize)]
struct PackedTransform {
    translation: [f32; 3],
    rotation: [f32; 4],
    scale: [f32; 3],
}

bevy_wasmi_plugins_pdk::type_paths! {
    Component for PackedTransform = "bevy_transform::components::transform::Transform";
    Component for Velocity = "steer::Velocity";
    Component for Position = "bevy::Position";
    Trigger for Bang = "bevy::brp_rest::Bang";
}

/// A typed watch of one of three kinds.
#[derive(Clone, Copy)]
enum Typed {
    Position(Watch<Changed<Position>>),
    List(Watch<BrpListComponentsWatchingResponse>),
    Bang(Watch<Observed<Bang>>),
}

impl Typed {
    fn id(self) -> u64 {
        match self {
            Typed::Position(w) => w.id(),
            Typed::List(w) => w.id(),
            Typed::Bang(w) => w.id(),
        }
    }

    /// What `changed` says of this watch, as text: `None` if it is another's.
    fn read(self, changed: &WatchChanged) -> Option<String> {
        fn text<T: std::fmt::Debug>(id: u64, read: Option<Result<T, Error>>) -> Option<String> {
            read.map(|r| match r {
                Ok(change) => format!("{id}: {change:?}"),
                Err(e) => format!("{id} ended: {} {}", e.code(), e.message()),
            })
        }
        match self {
            Typed::Position(w) => text(w.id(), w.read(changed)),
            Typed::List(w) => text(w.id(), w.read(changed)),
            Typed::Bang(w) => text(w.id(), w.read(changed)),
        }
    }
}

#[derive(Deserialize)]
struct Subscribe {
    kind: String,
    /// Needed by `position` and `list`; for `bang`, only its triggers that target it.
    #[serde(default)]
    entity: Option<u64>,
}

#[derive(Deserialize)]
struct Cancel {
    watch: u64,
}

#[derive(Deserialize)]
struct Relay {
    method: String,
    params: Box<serde_json::value::RawValue>,
}

#[derive(Deserialize)]
struct Mode {
    mode: String,
}

/// A `Vec3`'s x and y as reflection writes it: `[x,y,z]`, or `{"x":…,"y":…,"z":…}`
/// without glam's serde; read without buffering (serde's untagged enums buffer).
struct Vec3([f32; 2]);

impl Vec3 {
    fn xy(&self) -> [f32; 2] {
        self.0
    }
}

impl<'de> Deserialize<'de> for Vec3 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vec3;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a Vec3")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Vec3, A::Error> {
                let x = a.next_element()?.unwrap_or(0.0);
                let y = a.next_element()?.unwrap_or(0.0);
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Vec3([x, y]))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Vec3, A::Error> {
                let mut xy = [0.0; 2];
                while let Some(key) = a.next_key::<&str>()? {
                    match key {
                        "x" => xy[0] = a.next_value()?,
                        "y" => xy[1] = a.next_value()?,
                        _ => {
                            a.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(Vec3(xy))
            }
        }
        d.deserialize_any(V)
    }
}

/// The one field of `Transform` the mod uses.
#[derive(Deserialize)]
struct Transform {
    translation: Vec3,
}

#[derive(Serialize, Deserialize)]
struct Velocity {
    x: f32,
    y: f32,
}

fn steer([x, y]: [f32; 2]) -> Velocity {
    Velocity {
        x: -y * 0.5,
        y: x * 0.5,
    }
}

impl Plugin for Steer {
    fn methods(methods: &mut Methods<Self>) {
        methods
            .add("steer", Self::steer)
            .add("relay", |_: &'static Self, r: Relay| async move {
                host::call_raw(&r.method, &r.params).await
            })
            .add("watched", |this: &'static Self| async move {
                Ok(std::mem::take(&mut *this.notes.borrow_mut()))
            })
            .add("watch_typed", Self::watch_typed)
            .add(
                "cancel_typed",
                |this: &'static Self, c: Cancel| async move {
                    let found = this.typed.borrow().iter().position(|t| t.id() == c.watch);
                    let typed = found
                        .map(|i| this.typed.borrow_mut().remove(i))
                        .ok_or_else(|| Error::invalid_params("no such typed watch"))?;
                    match typed {
                        Typed::Position(w) => w.cancel().await,
                        Typed::List(w) => w.cancel().await,
                        Typed::Bang(w) => w.cancel().await,
                    }
                },
            )
            .add("typed_watched", |this: &'static Self| async move {
                Ok(std::mem::take(&mut *this.typed_notes.borrow_mut()))
            })
            .on(|this: &'static Self, changed: WatchChanged| async move {
                let mut notes = this.notes.borrow_mut();
                if notes.len() < 1000 {
                    notes.push(Json::of(&changed)?);
                }
                let mut typed_notes = this.typed_notes.borrow_mut();
                for typed in this.typed.borrow().iter() {
                    if let Some(note) = typed.read(&changed)
                        && typed_notes.len() < 1000
                    {
                        typed_notes.push(note);
                    }
                }
                Ok::<(), Error>(())
            });
    }
}

impl Steer {
    async fn watch_typed(&'static self, s: Subscribe) -> Result<u64, Error> {
        let entity = s.entity.map(Entity::from_bits);
        let needed = || entity.ok_or_else(|| Error::invalid_params("no entity"));
        let typed = match s.kind.as_str() {
            "position" => Typed::Position(world::watch::<Position>(needed()?).await?),
            "list" => Typed::List(world::watch_list(needed()?).await?),
            "bang" => Typed::Bang(world::observe::<Bang>(entity).await?),
            other => return Err(Error::invalid_params(format!("no kind `{other}`"))),
        };
        self.typed.borrow_mut().push(typed);
        Ok(typed.id())
    }

    async fn steer(&'static self, mode: Mode) -> Result<usize, Error> {
        match mode.mode.as_str() {
            "bulk" => {
                self.bulk_query().await?;
                self.write().await
            }
            "brp_bulk" => {
                self.brp_query().await?;
                self.write().await
            }
            "per_entity" => {
                self.brp_query().await?;
                let seen = self.seen.borrow().clone();
                for (entity, position) in &seen {
                    let () = host::call(
                        BRP_MUTATE_COMPONENTS_METHOD,
                        &BrpMutateComponentsParams {
                            entity: *entity,
                            component: VELOCITY.into(),
                            path: String::new(),
                            value: serde_json::to_value(steer(*position))?,
                        },
                    )
                    .await?;
                }
                Ok(seen.len())
            }
            "packed" => {
                self.query_packed().await?;
                self.write_packed().await
            }
            "query_packed" => self.query_packed().await,
            "write_packed" => self.write_packed().await,
            "query" => self.bulk_query().await,
            "query_brp" => self.brp_query().await,
            "write" => self.write().await,
            other => Err(Error::invalid_params(format!("no mode `{other}`"))),
        }
    }

    async fn bulk_query(&self) -> Result<usize, Error> {
        // Pages of `PAGE` rows: 10 000 whole Transforms are more than one 1 MiB line.
        const PAGE: usize = 4000;
        let mut seen = Vec::new();
        loop {
            // The velocity is required but not used: skipped, not parsed.
            let rows: Vec<(u64, (Transform, serde::de::IgnoredAny))> = host::call(
                BULK_QUERY_METHOD,
                &BulkQueryParams {
                    components: vec![TRANSFORM.into(), VELOCITY.into()],
                    skip: seen.len(),
                    limit: Some(PAGE),
                    ..BulkQueryParams::default()
                },
            )
            .await?;
            let last = rows.len() < PAGE;
            seen.extend(rows.iter().map(|(e, (t, _))| (*e, t.translation.xy())));
            if last {
                break;
            }
        }
        let n = seen.len();
        *self.seen.borrow_mut() = seen;
        Ok(n)
    }

    async fn query_packed(&self) -> Result<usize, Error> {
        let rows = world::query_packed::<(Entity, PackedTransform, Velocity), ()>().await?;
        let mut seen = self.seen.borrow_mut();
        seen.clear();
        seen.extend(rows.iter().map(|(entity, transform, _)| {
            let [x, y, _] = transform.translation;
            (entity.0, [x, y])
        }));
        Ok(seen.len())
    }

    async fn write_packed(&self) -> Result<usize, Error> {
        let mut commands = world::Commands::new();
        for (entity, position) in self.seen.borrow().iter() {
            commands.mutate_packed(Entity(*entity), &steer(*position))?;
        }
        commands.flush().await
    }

    async fn brp_query(&self) -> Result<usize, Error> {
        let rows: Vec<BrpQueryRow> = host::call(
            BRP_QUERY_METHOD,
            &BrpQueryParams {
                data: BrpQuery {
                    components: vec![TRANSFORM.into(), VELOCITY.into()],
                    ..BrpQuery::default()
                },
                ..BrpQueryParams::default()
            },
        )
        .await?;
        let mut seen = self.seen.borrow_mut();
        seen.clear();
        for row in rows {
            let transform = row
                .components
                .get(TRANSFORM)
                .ok_or_else(|| Error::internal("a row without its Transform"))?;
            let transform = Transform::deserialize(transform)?;
            seen.push((row.entity, transform.translation.xy()));
        }
        Ok(seen.len())
    }

    async fn write(&self) -> Result<usize, Error> {
        let entities: Vec<(u64, Velocity)> = self
            .seen
            .borrow()
            .iter()
            .map(|(e, position)| (*e, steer(*position)))
            .collect();
        let n = entities.len();
        let failed: BulkResponse = host::call(
            BULK_MUTATE_COMPONENTS_METHOD,
            &BulkMutateComponentsParams {
                component: VELOCITY.into(),
                path: String::new(),
                entities,
                packed: None,
                attached: None,
            },
        )
        .await?;
        if let Some(failed) = failed {
            return Err(Error::internal(format!(
                "{} entities were not steered, first: {:?}",
                failed.len(),
                failed.first().map(|(e, error)| (e, &error.message))
            )));
        }
        Ok(n)
    }
}

register_plugin!(Steer);
