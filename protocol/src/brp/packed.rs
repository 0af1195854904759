//! The packed form of the `bulk.*` values: binary instead of JSON rows, for mods that
//! read or write thousands of entities a frame.
//!
//! JSON is the cost of a bulk call on the mod's side: in the interpreter a mod reads a
//! `Transform` from JSON in about 27 000 units of fuel. In the packed form the same
//! values are a [postcard] encoding (postcard 1.0's wire format: an `f32` is its 4
//! little-endian bytes, an integer a varint, a struct its fields in order, a list its
//! length then its elements), carried in a JSON string as standard base64 with padding,
//! so every message is still a line of JSON-RPC.
//!
//! - `bulk.query` with `"packed":true` answers one string: `Vec<(u64, (C1, C2, …))>`,
//!   each row an entity's bits and its components in the order of `components`.
//! - `bulk.mutate_components` with `"packed":"…"` instead of `"entities"` takes
//!   `Vec<(u64, V)>`, `V` being the component's type (or the type of the field at
//!   `path`).
//!
//! The same bytes may travel without base64, as an [attachment](crate::attach) of the
//! message (`bulk.query`'s `"attach":true`, `bulk.mutate_components`' `"attached":N`):
//! base64 and the JSON string around it are most of what the packed form costs a mod
//! in the interpreter.
//!
//! postcard writes no field names: a value is read field by field in the order the
//! game's type declares its reflected fields (fields marked `#[reflect(skip_serializing)]`
//! left out), so a mod's type must declare the same fields, of the same types, in the
//! same order. glam's vectors and quaternions are their components (`Vec3` is three
//! `f32`, as `[f32; 3]` is), and an `Entity` is its bits.
//!
//! ```
//! use bevy_wasmi_plugins_protocol::brp::{from_packed, to_packed};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Velocity { x: f32, y: f32 }
//!
//! let rows = vec![(4294967298_u64, Velocity { x: 1.0, y: -0.5 })];
//! let text = to_packed(&rows).unwrap();
//! // The count (1), the entity's varint, then two little-endian f32s.
//! assert_eq!(text, "AYKAgIAQAACAPwAAAL8=");
//! let back: Vec<(u64, Velocity)> = from_packed(&text).unwrap();
//! assert_eq!(back, rows);
//! ```
//!
//! [postcard]: https://postcard.jamesmunns.com/wire-format

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A packed value that could not be written or read: not base64, or bytes that are not
/// a value of the expected type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackedError(String);

impl fmt::Display for PackedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PackedError {}

impl PackedError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    fn postcard(error: postcard::Error) -> Self {
        Self(format!(
            "the packed bytes are not the expected values: {error}"
        ))
    }
}

/// `value` in the packed form: its postcard bytes as base64.
///
/// # Errors
///
/// When `value` cannot be written in postcard's format: a map with an unknown length
/// or a type that serializes with `serialize_any`-style formats only.
pub fn to_packed<T: Serialize + ?Sized>(value: &T) -> Result<String, PackedError> {
    let bytes = postcard::to_allocvec(value).map_err(PackedError::postcard)?;
    Ok(pack(&bytes))
}

/// A value of type `T` from its packed form.
///
/// # Errors
///
/// When `text` is not base64, or its bytes are not a `T` (too few, the wrong kind, or
/// bytes left over).
pub fn from_packed<T: DeserializeOwned>(text: &str) -> Result<T, PackedError> {
    let bytes = unpack(text)?;
    let (value, rest) = postcard::take_from_bytes(&bytes).map_err(PackedError::postcard)?;
    if !rest.is_empty() {
        return Err(left_over(rest.len()));
    }
    Ok(value)
}

/// Postcard bytes in the packed form (base64).
pub fn pack(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The postcard bytes of a packed value.
///
/// Decoded here rather than by the `base64` crate: a mod reads thousands of rows a
/// frame, and in the interpreter this loop (four table lookups per four characters, no
/// branch but the loop's) takes about 15 units of fuel a character where the `base64`
/// crate takes 24 (and `data-encoding` 23): 1,140 rather than 1,810 fuel for a
/// `Transform` and a small component (a throwaway program, the same 75 KB both ways).
///
/// # Errors
///
/// When `text` is not standard base64 with padding (a length that is not a multiple
/// of 4, a character outside the alphabet, `=` before the end, or bits after the
/// last byte that are not zero).
pub fn unpack(text: &str) -> Result<Vec<u8>, PackedError> {
    let text = text.as_bytes();
    let not_base64 = |why: String| PackedError(format!("the packed value is not base64: {why}"));
    if !text.len().is_multiple_of(4) {
        return Err(not_base64(format!(
            "its length, {}, is not a multiple of 4",
            text.len()
        )));
    }
    let padding = match text {
        [.., b'=', b'='] => 2,
        [.., b'='] => 1,
        _ => 0,
    };
    let mut bytes = vec![0; text.len() / 4 * 3];
    let (quads, _) = text.as_chunks::<4>();
    let (body, last) = match padding {
        0 => (quads, None),
        _ => (&quads[..quads.len() - 1], quads.last()),
    };
    let mut seen = 0;
    for (quad, out) in body.iter().zip(bytes.as_chunks_mut::<3>().0) {
        let n = quad_value(quad);
        seen |= n;
        *out = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
    }
    if seen & INVALID != 0 {
        let at = text
            .iter()
            .position(|&c| DECODE[3][usize::from(c)] == INVALID)
            .unwrap_or_default();
        return Err(not_base64(format!("byte {at} is not a base64 character")));
    }
    if let Some(&quad) = last {
        // The padding reads as zeros, which the bits it stands for must be.
        let mut quad = quad;
        quad[4 - padding..].fill(b'A');
        let n = quad_value(&quad);
        let unused = if padding == 2 { 0xFFFF } else { 0xFF };
        if n & INVALID != 0 || n & unused != 0 {
            return Err(not_base64(format!(
                "its last four characters, {:?}, are not a padded end",
                String::from_utf8_lossy(&quad)
            )));
        }
        let at = bytes.len() - 3;
        bytes[at..].copy_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
        bytes.truncate(bytes.len() - padding);
    }
    Ok(bytes)
}

/// The 24 bits of four base64 characters, or a value with [`INVALID`] bits set.
fn quad_value(quad: &[u8; 4]) -> u32 {
    DECODE[0][usize::from(quad[0])]
        | DECODE[1][usize::from(quad[1])]
        | DECODE[2][usize::from(quad[2])]
        | DECODE[3][usize::from(quad[3])]
}

/// The bits a character outside the alphabet sets in [`DECODE`].
const INVALID: u32 = 0xFF00_0000;

/// The value of each byte as the first, second, third and fourth character of a quad
/// (shifted into place), or [`INVALID`].
static DECODE: [[u32; 256]; 4] = [
    decode_table(18),
    decode_table(12),
    decode_table(6),
    decode_table(0),
];

const fn decode_table(shift: u32) -> [u32; 256] {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = (i as u32) << shift;
        i += 1;
    }
    table
}

/// The error for `n` bytes after the last value.
pub fn left_over(n: usize) -> PackedError {
    PackedError(format!("{n} unread byte(s) after the packed values"))
}
