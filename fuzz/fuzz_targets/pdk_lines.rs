//! The PDK's line reader and dispatch on arbitrary input in arbitrary chunks.
//!
//! Input: one byte choosing the line cap, then chunks, each a length byte and that many
//! bytes (the last may be short). Checked:
//!
//! - the line reader hands out exactly the input split into frames by the protocol's
//!   `split_frame` (a line, or an attachment and its line, whose `\n`s are data), a frame
//!   longer than the cap as "too large", the last unterminated piece as a line;
//! - where the reader read a line's start from its buffer in the fixed wire form, that
//!   head finished on the line gives what `fast_parse` gives (checked inside the PDK);
//! - the mod's whole main loop (reader, parser, dispatch, executor, a plugin with a few
//!   methods, one of which calls the host) does not panic on the same input, and every
//!   line it writes is one JSON value (by JSON's grammar).

#![no_main]

use bevy_wasmi_plugins_pdk::__fuzz;
use bevy_wasmi_plugins_pdk::prelude::*;
use bevy_wasmi_plugins_pdk::protocol::attach::{Split, attachment_len, split_frame};
use libfuzzer_sys::fuzz_target;

/// A plugin with a few methods of each kind (no state: nothing is kept between runs).
#[derive(Default)]
struct Fuzz;

impl Plugin for Fuzz {
    fn methods(methods: &mut Methods<Self>) {
        methods
            .add("add", |_: &'static Self, (a, b): (i64, i64)| async move {
                Ok(a.wrapping_add(b))
            })
            .add("echo", |_: &'static Self, params: Json| async move {
                Ok(params)
            })
            .add("ask", |_: &'static Self, params: Json| async move {
                // Never answered by this host: the task waits until the input ends.
                let answer: Json = host::call("host.ask", &params).await?;
                host::notify("fuzz.asked", &[answer])?;
                Ok("done")
            })
            .add("fail", |_: &'static Self| async move {
                Err::<(), _>(Error::new(-32050, "failed on purpose"))
            });
    }

    fn events() -> &'static [&'static str] {
        &["tick"]
    }
}

/// The caps tried: tiny, around the reader's 4 KiB initial buffer, and the default.
const CAPS: [usize; 8] = [0, 1, 7, 64, 4095, 4096, 4097, 1 << 20];

/// The input split into frames by the protocol's `split_frame`, as the reader must hand
/// them out.
fn expected(max: usize, mut stream: &[u8]) -> Vec<Option<__fuzz::Framed>> {
    let mut frames = Vec::new();
    loop {
        match split_frame(stream) {
            Split::Frame {
                attachment,
                line,
                len,
            } => {
                // The frame without its `\n` must fit the cap.
                frames.push(
                    (len - 1 <= max).then(|| (line.to_vec(), attachment.map(<[u8]>::to_vec))),
                );
                stream = &stream[len..];
            }
            Split::Incomplete { .. } => {
                match attachment_len(stream) {
                    // A line without `\n` at the end: a line if something is there.
                    None if !stream.is_empty() => {
                        frames.push(
                            (stream.len() <= max)
                                .then(|| stream.to_vec())
                                .map(|l| (l, None)),
                        );
                    }
                    None | Some(Err(())) => {}
                    // An attachment cut off by the end: dropped, reported if over the cap.
                    Some(Ok(len)) => {
                        if (5 + len).max(stream.len()) > max {
                            frames.push(None);
                        }
                    }
                }
                return frames;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&cap, mut rest)) = data.split_first() else {
        return;
    };
    let max = CAPS[usize::from(cap) % CAPS.len()];
    // Long chunks from a high length byte, so that lines can pass the 4 KiB buffer.
    let mut chunks: Vec<&[u8]> = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let len = if len >= 0xf0 {
            usize::from(len - 0xf0) * 512
        } else {
            usize::from(len)
        };
        let (chunk, tail) = tail.split_at(len.min(tail.len()));
        chunks.push(chunk);
        rest = tail;
    }
    let stream = chunks.concat();

    assert_eq!(
        __fuzz::lines(max, &chunks),
        expected(max, &stream),
        "lines differ from the input split into frames"
    );

    let out = __fuzz::run::<Fuzz>(max, &chunks);
    for line in out.split(|&b| b == b'\n').filter(|line| !line.is_empty()) {
        assert!(
            // JSON's grammar, as the protocol checks it (a `Value` would also refuse
            // numbers out of `f64`'s range, which a mod may echo from its input).
            serde_json::from_slice::<&serde_json::value::RawValue>(line).is_ok(),
            "the mod wrote a line that is not JSON: {:?}",
            String::from_utf8_lossy(line)
        );
    }
});
