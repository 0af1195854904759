//! `wasmi-mod types`: Rust types for a mod, written from a game's `registry.schema`.
//!
//! The input is the result of `registry.schema` (`{type path: schema}`, in
//! `bevy_remote`'s `JsonSchemaBevyType` form), as a mod gets it or as a game writes it.
//! For each component, resource, message and event type, and the plain types their
//! fields name, it writes a serde struct (or enum) whose JSON is the one the game's
//! reflection reads and writes, with the PDK's `Component`, `Resource`, `Message` or
//! `Trigger` impl holding its type path.
//!
//! A struct's fields are written in the order the schema lists them, which is the
//! order the game's type declares them (this host writes `properties` in that order),
//! so the types also read and write the packed form, which goes by position.
//!
//! What the schema does not say is left to `Json` (`serde_json::Value`): a type it does
//! not describe, a map, a tuple. An enum is written with the variants the schema names,
//! as unit variants (`registry.schema` gives no variant's fields).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use bevy_wasmi_plugins::protocol::brp::{JsonSchemaBevyType, SchemaKind};
use serde_json::Value;

/// The PDK traits of the ECS kinds, by the `reflectTypes` name that marks them.
const ECS_TRAITS: [(&str, &str); 4] = [
    ("Component", "Component"),
    ("Resource", "Resource"),
    ("Message", "Message"),
    ("Event", "Trigger"),
];

/// Rust's reserved words that a field may be named after (written `r#name`).
const KEYWORDS: [&str; 48] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Words that cannot even be raw identifiers (written `name_`).
const UNRAW: [&str; 5] = ["self", "Self", "super", "crate", "_"];

/// Names the written file uses itself: a type of the game's is never given one.
const TAKEN: [&str; 12] = [
    "Json",
    "Entity",
    "Component",
    "Resource",
    "Message",
    "Trigger",
    "Serialize",
    "Deserialize",
    "String",
    "Option",
    "Vec",
    "Box",
];

/// Rust source for the ECS types of `schemas` and the types their fields name.
pub fn rust_types(schemas: &BTreeMap<String, JsonSchemaBevyType>, source: &str) -> String {
    // Which types to write: the ECS ones, then every described type a field names.
    // (By the keys of `schemas`, which are the paths fields name.)
    let mut wanted: BTreeSet<&str> = schemas
        .iter()
        .filter(|(_, s)| ecs_traits(s).next().is_some() && writes_a_type(s))
        .map(|(path, _)| path.as_str())
        .collect();
    let mut queue: Vec<&str> = wanted.iter().copied().collect();
    while let Some(path) = queue.pop() {
        for named in fields_of(&schemas[path]) {
            for inner in type_paths_in(named) {
                // A type with its own serde form (`Serialize` registered) is written by
                // Bevy in that form, which the schema does not describe: `Json`.
                if let Some((key, schema)) = schemas.get_key_value(inner)
                    && writes_a_type(schema)
                    && !schema.reflect_types.iter().any(|t| t == "Serialize")
                    && builtin(inner).is_none()
                    && wanted.insert(key.as_str())
                {
                    queue.push(key.as_str());
                }
            }
        }
    }
    let names = rust_names(&wanted, schemas);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "//! Written by `wasmi-mod types` from `{source}` (a game's `registry.schema`).\n\
         #![allow(dead_code, missing_docs, unused_imports)]\n\n\
         use bevy_wasmi_plugins_pdk::Json;\n\
         use bevy_wasmi_plugins_pdk::ecs::{{Component, Entity, Message, Resource, Trigger}};\n\
         use serde::{{Deserialize, Serialize}};"
    );
    for path in &wanted {
        let schema = &schemas[*path];
        let name = &names[*path];
        let ty = |path: &str| rust_type(path, &names);
        out.push('\n');
        let _ = writeln!(out, "/// `{path}`.");
        match schema.kind {
            SchemaKind::Struct => {
                let _ = writeln!(
                    out,
                    "#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]\n\
                     pub struct {name} {{"
                );
                for (field, reference) in schema.properties.iter() {
                    let Some(field_path) = ref_path(reference) else {
                        continue;
                    };
                    let rust = ty(field_path);
                    if rust.starts_with("Option<") {
                        out.push_str("    #[serde(default)]\n");
                    }
                    let (ident, key) = field_name(field);
                    if key != *field {
                        let _ = writeln!(out, "    #[serde(rename = {field:?})]");
                    }
                    let _ = writeln!(out, "    pub {ident}: {rust},");
                }
                out.push_str("}\n");
            }
            SchemaKind::TupleStruct => {
                let fields: Vec<String> = schema
                    .prefix_items
                    .iter()
                    .filter_map(ref_path)
                    .map(|p| format!("pub {}", ty(p)))
                    .collect();
                let _ = writeln!(
                    out,
                    "#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]\n\
                     pub struct {name}({});",
                    fields.join(", ")
                );
            }
            SchemaKind::Enum => {
                let _ = writeln!(
                    out,
                    "/// (Variants with data are not described by the schema: read such a\n\
                     /// value as `Json`.)\n\
                     #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]\n\
                     pub enum {name} {{"
                );
                for variant in &schema.one_of {
                    if let Some(variant) = variant.get("shortPath").and_then(Value::as_str) {
                        let _ = writeln!(out, "    {},", identifier(variant));
                    }
                }
                out.push_str("}\n");
            }
            // Types written as something else are never wanted (see `writes_a_type`).
            _ => {}
        }
        for (_, pdk_trait) in ecs_traits(schema) {
            let _ = writeln!(
                out,
                "\nimpl {pdk_trait} for {name} {{\n    const TYPE_PATH: &'static str = {path:?};\n}}"
            );
        }
    }
    out
}

/// The PDK traits `schema`'s type gets. (A resource is a component of its own entity
/// to Bevy's reflection too, but to a mod only a resource.)
fn ecs_traits(schema: &JsonSchemaBevyType) -> impl Iterator<Item = (&'static str, &'static str)> {
    let has = |marker: &str| schema.reflect_types.iter().any(|t| t == marker);
    let resource = has("Resource");
    ECS_TRAITS
        .into_iter()
        .filter(move |(marker, _)| has(marker) && !(resource && *marker == "Component"))
}

/// Whether the type is written out as a Rust type of its own.
fn writes_a_type(schema: &JsonSchemaBevyType) -> bool {
    matches!(
        schema.kind,
        SchemaKind::Struct | SchemaKind::TupleStruct | SchemaKind::Enum
    )
}

/// The type paths a struct's or tuple struct's fields name.
fn fields_of(schema: &JsonSchemaBevyType) -> impl Iterator<Item = &str> {
    schema
        .properties
        .iter()
        .map(|(_, reference)| reference)
        .chain(&schema.prefix_items)
        .filter_map(ref_path)
}

/// The path a `{"type":{"$ref":"#/$defs/<path>"}}` names.
fn ref_path(reference: &Value) -> Option<&str> {
    reference
        .pointer("/type/$ref")
        .and_then(Value::as_str)?
        .strip_prefix("#/$defs/")
}

/// A type path and the paths inside its generic arguments or array.
fn type_paths_in(path: &str) -> Vec<&str> {
    let mut paths = vec![path];
    if let Some(inner) = generic_argument(path) {
        paths.extend(type_paths_in(inner));
    } else if let Some((item, _)) = array(path) {
        paths.extend(type_paths_in(item));
    }
    paths
}

/// `T` of `a::B<T>` (one argument).
fn generic_argument(path: &str) -> Option<&str> {
    let open = path.find('<')?;
    path.ends_with('>').then(|| &path[open + 1..path.len() - 1])
}

/// `(T, N)` of `[T; N]`.
fn array(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_prefix('[')?.strip_suffix(']')?;
    let (item, len) = inner.rsplit_once(';')?;
    Some((item.trim(), len.trim()))
}

/// The Rust type of values of the type at `path`, as the game's reflection writes them.
fn builtin(path: &str) -> Option<String> {
    Some(
        match path {
            "bool" | "char" | "f32" | "f64" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize"
            | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => path,
            "alloc::string::String" | "alloc::borrow::Cow<str>" | "&str" => "String",
            "bevy_ecs::entity::Entity" => "Entity",
            "glam::Vec2" => "[f32; 2]",
            "glam::Vec3" | "glam::Vec3A" => "[f32; 3]",
            "glam::Vec4" | "glam::Quat" => "[f32; 4]",
            "glam::DVec2" => "[f64; 2]",
            "glam::DVec3" => "[f64; 3]",
            "glam::DVec4" | "glam::DQuat" => "[f64; 4]",
            "glam::IVec2" => "[i32; 2]",
            "glam::IVec3" => "[i32; 3]",
            "glam::IVec4" => "[i32; 4]",
            "glam::UVec2" => "[u32; 2]",
            "glam::UVec3" => "[u32; 3]",
            "glam::UVec4" => "[u32; 4]",
            "glam::BVec2" => "[bool; 2]",
            "glam::BVec3" => "[bool; 3]",
            "glam::BVec4" => "[bool; 4]",
            "glam::Mat2" => "[f32; 4]",
            "glam::Mat3" => "[f32; 9]",
            "glam::Mat4" => "[f32; 16]",
            _ => return None,
        }
        .to_owned(),
    )
}

fn rust_type(path: &str, names: &BTreeMap<&str, String>) -> String {
    if let Some(builtin) = builtin(path) {
        return builtin;
    }
    if let Some(name) = names.get(path) {
        return name.clone();
    }
    if let Some((item, len)) = array(path) {
        return format!("[{}; {len}]", rust_type(item, names));
    }
    for (wrapper, rust) in [
        ("core::option::Option<", "Option"),
        ("alloc::vec::Vec<", "Vec"),
        ("alloc::boxed::Box<", "Box"),
    ] {
        if path.starts_with(wrapper)
            && let Some(inner) = generic_argument(path)
        {
            return format!("{rust}<{}>", rust_type(inner, names));
        }
    }
    "Json".to_owned()
}

/// A Rust name for each wanted type: its short path made an identifier, with a number
/// after it when two types would get one name.
fn rust_names<'a>(
    wanted: &BTreeSet<&'a str>,
    schemas: &BTreeMap<String, JsonSchemaBevyType>,
) -> BTreeMap<&'a str, String> {
    let mut taken: BTreeSet<String> = TAKEN.iter().map(|&name| name.to_owned()).collect();
    wanted
        .iter()
        .map(|&path| {
            let base = identifier(&schemas[path].short_path);
            let mut name = base.clone();
            let mut n = 1;
            while !taken.insert(name.clone()) {
                n += 1;
                name = format!("{base}{n}");
            }
            (path, name)
        })
        .collect()
}

/// `text` with every character that cannot be in an identifier made `_`.
fn identifier(text: &str) -> String {
    let mut id: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit()) {
        id.insert(0, '_');
    }
    id
}

/// A field's Rust name and the JSON key serde gives that name (when it is not the
/// schema's, the field is renamed). Bevy names a field `r#type` as written.
fn field_name(name: &str) -> (String, String) {
    let id = identifier(name.strip_prefix("r#").unwrap_or(name));
    if KEYWORDS.contains(&id.as_str()) {
        (format!("r#{id}"), id)
    } else if UNRAW.contains(&id.as_str()) {
        let id = format!("{id}_");
        (id.clone(), id)
    } else {
        (id.clone(), id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What this host's `registry.schema` answers for a game with a `game::Velocity`
    /// component, a `game::Score` resource, `Transform`, and the types they name.
    const SCHEMA: &str = include_str!("../tests/fixtures/schema.json");

    #[test]
    fn ecs_types_and_the_types_they_name_become_serde_types_with_their_paths() {
        let schemas: BTreeMap<String, JsonSchemaBevyType> =
            serde_json::from_str(SCHEMA).expect("a registry.schema answer");
        let rust = rust_types(&schemas, "schema.json");
        for expected in [
            "pub struct Velocity {\n    pub x: f32,\n    pub y: f32,\n}",
            "impl Component for Velocity {\n    const TYPE_PATH: &'static str = \"game::Velocity\";\n}",
            // The fields in the game's order, as the packed form reads them.
            "pub struct Transform {\n    pub translation: [f32; 3],\n    pub rotation: [f32; 4],\n    pub scale: [f32; 3],\n}",
            "impl Component for Transform {\n    const TYPE_PATH: &'static str = \"bevy_transform::components::transform::Transform\";\n}",
            "pub struct Score(pub u32);",
            "impl Resource for Score {",
            "pub struct Team {\n    pub name: String,\n    pub color: Color,\n    pub members: Vec<u32>,\n    #[serde(default)]\n    pub leader: Option<f32>,\n    #[serde(rename = \"r#type\")]\n    pub r#type: u8,\n}",
            "pub enum Color {\n    Red,\n    Blue,\n}",
        ] {
            assert!(rust.contains(expected), "missing:\n{expected}\nin:\n{rust}");
        }
        // Only the types an ECS type names: not every plain type of the registry.
        assert!(!rust.contains("Unused"), "{rust}");
        assert!(!rust.contains("impl Component for Color"), "{rust}");
    }

    #[test]
    fn paths_the_schema_does_not_describe_are_json() {
        let names = BTreeMap::new();
        assert_eq!(
            rust_type("std::collections::HashMap<u32, u32>", &names),
            "Json"
        );
        assert_eq!(rust_type("[glam::Vec2; 3]", &names), "[[f32; 2]; 3]");
        assert_eq!(
            rust_type("core::option::Option<alloc::vec::Vec<f32>>", &names),
            "Option<Vec<f32>>"
        );
        assert_eq!(identifier("Option<f32>"), "Option_f32_");
        assert_eq!(rust_type("bevy_ecs::entity::Entity", &names), "Entity");
        assert_eq!(
            field_name("match"),
            ("r#match".to_owned(), "match".to_owned())
        );
        assert_eq!(
            field_name("r#type"),
            ("r#type".to_owned(), "type".to_owned())
        );
        assert_eq!(field_name("try"), ("r#try".to_owned(), "try".to_owned()));
        assert_eq!(field_name("self"), ("self_".to_owned(), "self_".to_owned()));
    }

    #[test]
    fn names_never_clash_with_each_other_or_the_files_own() {
        let schema = |path: &str, short: &str, reflect: &[&str]| JsonSchemaBevyType {
            short_path: short.to_owned(),
            type_path: path.to_owned(),
            reflect_types: reflect.iter().map(|&t| t.to_owned()).collect(),
            ..JsonSchemaBevyType::default()
        };
        let schemas: BTreeMap<String, JsonSchemaBevyType> = [
            schema("a::Color", "Color", &["Component"]),
            schema("b::Color", "Color", &["Component"]),
            schema("c::Color2", "Color2", &["Component"]),
            schema("d::Message", "Message", &["Message"]),
        ]
        .into_iter()
        .map(|s| (s.type_path.clone(), s))
        .collect();
        let rust = rust_types(&schemas, "t.json");
        for name in ["Color", "Color2", "Color22", "Message2"] {
            assert_eq!(
                rust.matches(&format!("pub struct {name} {{")).count(),
                1,
                "{name}:\n{rust}"
            );
        }
        assert!(rust.contains("impl Message for Message2"), "{rust}");
    }
}
