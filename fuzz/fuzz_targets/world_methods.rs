//! Arbitrary params for every `world.*` method, served through the Bevy layer's
//! reflection code (`bevy/ecs_methods/`) on a `World` with a few reflected component,
//! resource and message types, some entities, and permissions chosen by the input.
//!
//! Input: one byte choosing the permissions, then lines; each line is a method (its first
//! byte) and its params (the rest: JSON, or nothing for no params; after a tab, the
//! request's attachment, for `"attached"` packed values). In the params,
//! `@0`…`@9` stand for the bits of the world's entities (`@0` is the mod's own), so
//! that the fuzzer can name live entities. Checked:
//!
//! - no panic in the reflection code (Bevy's reflected inserts panic on values they
//!   cannot build; the layer must refuse those first);
//! - every outcome is a valid JSON value or an error;
//! - a mod never changes or removes its own entity (`WasmMod` and its permissions);
//! - with no permissions, no call changes the world's entities or the resource.

#![no_main]

use std::sync::OnceLock;

use bevy::ecs::reflect::AppTypeRegistry;
use bevy::ecs::resource::IsResource;
use bevy::prelude::*;
use bevy_wasmi_plugins::bevy::ecs_methods::{ECS_METHODS, ModSpawned};
use bevy_wasmi_plugins::bevy::fuzzing::serve_world_method;
use bevy_wasmi_plugins::bevy::mods::WasmMod;
use bevy_wasmi_plugins::bevy::permissions::{Access, ModPermissions};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

#[derive(Component, Reflect, Default, Clone, Debug, PartialEq)]
#[reflect(Component, Default)]
struct Health(i32);

#[derive(Component, Reflect, Default, Clone, Debug, PartialEq)]
#[reflect(Component)]
struct Position {
    x: f32,
    y: f32,
}

#[derive(Reflect, Default, Clone, Debug, PartialEq)]
struct Inner {
    tags: Vec<String>,
    weight: Option<u8>,
}

#[derive(Component, Reflect, Clone, Debug, PartialEq)]
#[reflect(Component)]
enum Mood {
    Calm,
    Angry { level: u16 },
    Named(String, Inner),
}

/// No `FromReflect`: Bevy's reflected insert cannot build it.
#[derive(Component, Reflect, Clone, Debug)]
#[reflect(Component, from_reflect = false)]
struct Opaque {
    value: u32,
}

/// Reflected but not registered as a component.
#[derive(Component, Reflect, Default, Clone, Debug)]
struct NotReflectedAsComponent(u8);

#[derive(Resource, Reflect, Default, Clone, Debug, PartialEq)]
#[reflect(Resource)]
struct Score {
    value: u64,
    names: Vec<(String, i32)>,
}

/// Immutable: Bevy's reflection panics on a change in place; the layer must refuse it.
#[derive(Component, Reflect, Clone, Debug, PartialEq)]
#[component(immutable)]
#[reflect(Component)]
struct Sealed(u32);

#[derive(Message, Reflect, Clone, Debug)]
#[reflect(Message)]
struct Boom {
    power: u8,
}

fn registry() -> AppTypeRegistry {
    static REGISTRY: OnceLock<AppTypeRegistry> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            let registry = AppTypeRegistry::default();
            {
                let mut r = registry.write();
                r.register::<Health>();
                r.register::<Position>();
                r.register::<Mood>();
                r.register::<Opaque>();
                r.register::<NotReflectedAsComponent>();
                r.register::<Score>();
                r.register::<Boom>();
                r.register::<ModPermissions>();
                r.register::<Name>();
                r.register::<Sealed>();
                r.register::<ChildOf>();
                r.register::<Children>();
            }
            registry
        })
        .clone()
}

/// The permissions byte: each field from two bits.
fn permissions(byte: u8) -> ModPermissions {
    let access = |bits: u8| match bits & 3 {
        0 => Access::None,
        1 => Access::All,
        2 => Access::Only(vec![
            "world_methods::Health".into(),
            "world_methods::Mood".into(),
            "world_methods::Score".into(),
            "world_methods::Boom".into(),
        ]),
        _ => Access::Only(vec![
            "world_methods::Position".into(),
            "world_methods::Opaque".into(),
            "bevy_wasmi_plugins::permissions::ModPermissions".into(),
            "bevy_ecs::name::Name".into(),
            "world_methods::Sealed".into(),
            "bevy_ecs::hierarchy::ChildOf".into(),
            "bevy_ecs::hierarchy::Children".into(),
        ]),
    };
    if byte == 0 {
        return ModPermissions::none();
    }
    ModPermissions {
        host_methods: Access::None,
        read: access(byte),
        write: access(byte >> 2),
        messages: access(byte >> 4),
        events: access(byte >> 3),
        spawn: [0, 1, 3, u32::MAX][usize::from(byte >> 6)],
        despawn: byte & 0x40 != 0,
        remove_resources: access(byte >> 5),
    }
}

/// How many entities are alive, not counting those that hold resources.
fn live(world: &mut World) -> usize {
    world
        .query_filtered::<Entity, Without<IsResource>>()
        .iter(world)
        .count()
}

/// `@0`…`@9` replaced by the bits of `entities[n]`.
fn substitute(params: &str, entities: &[Entity]) -> String {
    let mut out = String::with_capacity(params.len());
    let mut chars = params.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '@'
            && let Some(digit) = chars.peek().and_then(|d| d.to_digit(10))
        {
            chars.next();
            match entities.get(digit as usize) {
                Some(entity) => out += &entity.to_bits().to_string(),
                None => out += &u64::MAX.to_string(),
            }
            continue;
        }
        out.push(c);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&byte, rest)) = data.split_first() else {
        return;
    };
    let permissions = permissions(byte);
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };

    let mut world = World::new();
    world.insert_resource(registry());
    world.insert_resource(Score {
        value: 7,
        names: vec![("a".into(), 1)],
    });
    world.init_resource::<Messages<Boom>>();
    let mod_entity = world
        .spawn((WasmMod::new(Handle::default()), permissions.clone()))
        .id();
    let mut entities = vec![mod_entity];
    entities.push(world.spawn((Health(10), Position { x: 1.0, y: 2.0 })).id());
    entities.push(
        world
            .spawn((
                Mood::Named("x".into(), Inner::default()),
                Opaque { value: 1 },
                NotReflectedAsComponent(3),
                Name::new("named"),
            ))
            .id(),
    );
    entities.push(world.spawn((ModSpawned(mod_entity), Health(1))).id());
    entities.push(world.spawn_empty().id());
    let gone = world.spawn(Health(0)).id();
    world.despawn(gone);
    entities.push(gone);

    let entity_count = live(&mut world);
    for line in text.lines().take(16) {
        let mut chars = line.chars();
        let Some(first) = chars.next() else {
            continue;
        };
        let index = first as usize % (ECS_METHODS.len() + 1);
        let method = ECS_METHODS.get(index).copied().unwrap_or("world.unknown");
        // After a tab: the request's attachment (`bulk.mutate_components`' `attached`).
        let (params, attachment) = match chars.as_str().split_once('\t') {
            Some((params, attachment)) => (params, Some(attachment.as_bytes())),
            None => (chars.as_str(), None),
        };
        let params = substitute(params, &entities);
        let raw = if params.trim().is_empty() {
            None
        } else {
            match serde_json::from_str::<&RawValue>(&params) {
                // As `parse_frame` lets through: an array or an object.
                Ok(raw) if raw.get().starts_with(['[', '{']) => Some(raw),
                _ => continue,
            }
        };
        let outcome = serve_world_method(
            &mut world,
            &permissions,
            mod_entity,
            method,
            raw,
            attachment,
        );
        match outcome {
            None => assert_eq!(method, "world.unknown"),
            Some(Ok(result)) => {
                assert!(serde_json::from_str::<serde_json::Value>(result.get()).is_ok());
            }
            Some(Err(_)) => {}
        }
    }

    let own = world.entity(mod_entity);
    assert!(
        own.contains::<WasmMod>(),
        "the mod's own entity lost WasmMod"
    );
    assert_eq!(
        own.get::<ModPermissions>(),
        Some(&permissions),
        "the mod changed its own permissions"
    );
    if byte == 0 {
        assert_eq!(live(&mut world), entity_count);
        assert_eq!(world.resource::<Score>().value, 7);
        assert_eq!(world.get::<Health>(entities[1]), Some(&Health(10)));
    }
});
