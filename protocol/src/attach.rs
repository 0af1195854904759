//! Attachments: raw bytes that travel with one message, beside its JSON line.
//!
//! Base64 in a JSON string costs a mod in the interpreter about 20 units of fuel per byte
//! to decode, and finding the string's end touches every byte again. For the
//! [packed](crate::brp::packed) values of the `bulk.*` methods a message may instead
//! carry its bytes as they are, in front of its line:
//!
//! ```text
//! 0x00  len (u32, little-endian)  len bytes  {"jsonrpc":"2.0",…}\n
//! ```
//!
//! A frame on either pipe is a line (`…\n`), or an attachment followed by the line it
//! belongs to. The NUL byte marks it: no JSON text starts with one, so a reader that sees
//! one where a line would start knows an attachment follows, and reads it by its length,
//! without looking for `\n` inside it. The attachment and the line together must fit in
//! the receiver's message cap.
//!
//! Only a single request or response carries one (never a batch or a notification), and
//! only where a method says so (`bulk.query`'s `attach`,
//! `bulk.mutate_components`' `attached`): the JSON line states the attachment's length,
//! so each side checks that it got what the other meant to send.
//!
//! ```
//! use bevy_wasmi_plugins_protocol::attach::{Split, split_frame, write_attachment};
//!
//! let mut wire = Vec::new();
//! write_attachment(&mut wire, b"\n\x00\x01").unwrap();
//! wire.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":3}\nnext\n");
//! let Split::Frame { attachment, line, len } = split_frame(&wire) else {
//!     panic!("a whole frame");
//! };
//! assert_eq!(attachment, Some(&b"\n\x00\x01"[..]));
//! assert_eq!(line, br#"{"jsonrpc":"2.0","id":1,"result":3}"#);
//! assert_eq!(&wire[len..], b"next\n");
//! ```

use std::fmt;

/// The byte an attachment starts with, where a line would.
pub const ATTACHMENT_TAG: u8 = 0;

/// An attachment's header: [`ATTACHMENT_TAG`] and the length, 4 bytes little-endian.
pub const ATTACHMENT_HEADER: usize = 5;

/// An attachment too long for its 4-byte length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttachmentTooLong(pub usize);

impl fmt::Display for AttachmentTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "an attachment of {} bytes is longer than its header can say (4 GiB)",
            self.0
        )
    }
}

impl std::error::Error for AttachmentTooLong {}

/// The header of an attachment of `len` bytes.
pub fn attachment_header(len: usize) -> Result<[u8; ATTACHMENT_HEADER], AttachmentTooLong> {
    let bytes = u32::try_from(len)
        .map_err(|_| AttachmentTooLong(len))?
        .to_le_bytes();
    Ok([ATTACHMENT_TAG, bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Appends `bytes` as an attachment: its header, then the bytes. The line it belongs
/// to must follow.
pub fn write_attachment(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), AttachmentTooLong> {
    out.extend_from_slice(&attachment_header(bytes.len())?);
    out.extend_from_slice(bytes);
    Ok(())
}

/// What [`split_frame`] found at the start of some input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split<'a> {
    /// A whole frame.
    Frame {
        /// The attachment's bytes, if the frame has one.
        attachment: Option<&'a [u8]>,
        /// The line, without its `\n`.
        line: &'a [u8],
        /// The frame's length in the input, its `\n` included.
        len: usize,
    },
    /// The frame is not complete yet. `known` is how long it is at least: the end of its
    /// attachment when that is not all there, else the end of the input (its line has no
    /// `\n` yet).
    Incomplete {
        /// The frame's least length.
        known: usize,
    },
}

/// The length of the attachment `input` starts with, if it starts with one whose header
/// is complete: `Some(Ok(len))`; `Some(Err(()))` when the header is cut short; `None`
/// when `input` starts with a line.
pub fn attachment_len(input: &[u8]) -> Option<Result<usize, ()>> {
    if input.first() != Some(&ATTACHMENT_TAG) {
        return None;
    }
    let Some(len) = input.get(1..ATTACHMENT_HEADER) else {
        return Some(Err(()));
    };
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
    // A `usize` of at least 32 bits on every target this crate builds for.
    Some(Ok(len as usize))
}

/// Splits the first frame off `input`: an optional attachment, then a line up to `\n`.
pub fn split_frame(input: &[u8]) -> Split<'_> {
    let (attachment, line_start) = match attachment_len(input) {
        None => (None, 0),
        Some(Err(())) => {
            return Split::Incomplete {
                known: ATTACHMENT_HEADER,
            };
        }
        Some(Ok(len)) => {
            let end = ATTACHMENT_HEADER.saturating_add(len);
            let Some(bytes) = input.get(ATTACHMENT_HEADER..end) else {
                return Split::Incomplete { known: end };
            };
            (Some(bytes), end)
        }
    };
    match memchr::memchr(b'\n', &input[line_start..]) {
        Some(i) => Split::Frame {
            attachment,
            line: &input[line_start..line_start + i],
            len: line_start + i + 1,
        },
        None => Split::Incomplete { known: input.len() },
    }
}

#[cfg(test)]
mod tests {
    // Under Node (`scripts/web-test.sh`) these run through wasm-bindgen-test.
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn frames_are_lines_or_an_attachment_and_its_line() {
        assert_eq!(
            split_frame(b"ab\ncd"),
            Split::Frame {
                attachment: None,
                line: b"ab",
                len: 3
            }
        );
        assert_eq!(split_frame(b"ab"), Split::Incomplete { known: 2 });
        assert_eq!(split_frame(b""), Split::Incomplete { known: 0 });
        // A `\n` inside the attachment is data.
        let mut wire = Vec::new();
        write_attachment(&mut wire, b"x\ny").unwrap();
        assert_eq!(wire, [0, 3, 0, 0, 0, b'x', b'\n', b'y']);
        wire.extend_from_slice(b"{}\n");
        assert_eq!(
            split_frame(&wire),
            Split::Frame {
                attachment: Some(b"x\ny"),
                line: b"{}",
                len: 11
            }
        );
        // Cut anywhere, it is incomplete, and says how long it is at least.
        for cut in 0..wire.len() {
            let Split::Incomplete { known } = split_frame(&wire[..cut]) else {
                panic!("cut at {cut} is not a whole frame");
            };
            assert!(known >= cut.min(5), "cut at {cut}: {known}");
            assert!(known <= wire.len(), "cut at {cut}: {known}");
        }
        // An empty attachment, and one whose length is as large as a header can say.
        assert_eq!(
            split_frame(b"\0\0\0\0\0\n"),
            Split::Frame {
                attachment: Some(b""),
                line: b"",
                len: 6
            }
        );
        // (On a 32-bit target the length saturates: still more than any input.)
        assert_eq!(
            split_frame(b"\0\xff\xff\xff\xffab\n"),
            Split::Incomplete {
                known: ATTACHMENT_HEADER.saturating_add(u32::MAX as usize)
            }
        );
        assert_eq!(attachment_header(7).unwrap(), [0, 7, 0, 0, 0]);
        assert_eq!(attachment_len(b"{"), None);
        assert_eq!(attachment_len(b"\0\x01"), Some(Err(())));
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn attachments_past_4_gib_are_refused() {
        let too_long = u32::MAX as usize + 1;
        assert_eq!(
            attachment_header(too_long),
            Err(AttachmentTooLong(too_long))
        );
        assert!(attachment_header(u32::MAX as usize).is_ok());
    }
}
