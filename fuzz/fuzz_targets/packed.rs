//! The packed form's base64 decoder (`brp::packed::unpack`, written for speed in the
//! interpreter) against the `base64` crate, and postcard reads of what it decodes.
//!
//! The input is the text (lossily made UTF-8) a mod or the host would decode. Checked:
//!
//! - `unpack` accepts exactly what the `base64` crate's standard engine (padding
//!   required, trailing bits zero) accepts, and decodes it to the same bytes;
//! - `from_packed` as rows of a few shapes (numbers, strings, options, enums, lists)
//!   never panics and reads no more than the bytes say (a huge length prefix is an
//!   error, not an allocation).

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bevy_wasmi_plugins_protocol::brp::{from_packed, packed};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
enum Mood {
    Calm,
    Angry { level: u16 },
    Named(String, Vec<Option<u8>>),
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ours = packed::unpack(&text);
    let theirs = STANDARD.decode(text.as_bytes());
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?}"),
        (Err(_), Err(_)) => {}
        _ => panic!("{text:?}: unpack {ours:?}, base64 {theirs:?}"),
    }
    let _ = from_packed::<Vec<(u64, (f32, i64))>>(&text);
    let _ = from_packed::<Vec<(u64, Mood)>>(&text);
    let _ = from_packed::<Vec<(u64, (String, Option<[f32; 3]>, Vec<u16>))>>(&text);
});
