//! Splitting stdin into frames (lines, each perhaps after an
//! [attachment](bevy_wasmi_plugins_protocol::attach)), in one reused buffer, with a cap
//! on a frame's length.

use std::ops::Range;

use bevy_wasmi_plugins_protocol::attach::{ATTACHMENT_HEADER, attachment_len};
use bevy_wasmi_plugins_protocol::{FastHead, fast_head};

use super::io::Io;

/// Initial size of the input buffer; it grows (up to the cap) for longer lines.
const INITIAL_CAPACITY: usize = 4096;

/// An empty buffer larger than this is given back.
const SHRINK_ABOVE: usize = 64 * 1024;

/// What [`LineReader::next_fast_line`] found.
#[derive(Debug, PartialEq)]
pub(crate) enum Line<'a> {
    /// A complete line, without its `\n`.
    Complete(&'a [u8]),
    /// A line longer than the cap ended here; its bytes were dropped.
    TooLarge,
}

/// A line, its start read by [`fast_head`] when it is in the fixed wire form, and the
/// attachment that came in front of it.
pub(crate) type Framed<'a> = (Line<'a>, Option<FastHead<'a>>, Option<&'a [u8]>);

/// Reads input into a buffer and hands out complete lines.
pub(crate) struct LineReader {
    /// Initialised bytes; `at.start..at.end` holds unread input.
    buf: Vec<u8>,
    /// Where the reader is in `buf` (apart from it, so that lines can borrow `buf`
    /// while the reader moves on).
    at: Cursor,
}

/// The positions of a [`LineReader`] in its buffer.
struct Cursor {
    /// Where the next frame starts (its attachment, if it has one).
    start: usize,
    end: usize,
    /// The line of the frame at `start` holds no `\n` before `scanned`.
    scanned: usize,
    /// Inside a frame that went over the cap: drop input until its `\n`.
    discarding: bool,
    /// Bytes of an attachment over the cap still to drop, before its line is dropped.
    skip: usize,
    max: usize,
}

impl LineReader {
    /// A reader refusing lines longer than `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        LineReader {
            buf: Vec::new(),
            at: Cursor {
                start: 0,
                end: 0,
                scanned: 0,
                discarding: false,
                skip: 0,
                max,
            },
        }
    }

    /// Reads more input (waiting for it); returns false at the end of input.
    pub(crate) fn fill(&mut self, io: &mut impl Io) -> bool {
        let at = &mut self.at;
        if at.start == at.end {
            at.start = 0;
            at.end = 0;
            at.scanned = 0;
            if self.buf.len() > SHRINK_ABOVE {
                // Do not keep a huge buffer for one long line.
                self.buf = vec![0; INITIAL_CAPACITY];
            }
        } else if at.end == self.buf.len() && at.start > 0 {
            // Move the unfinished line to the front.
            self.buf.copy_within(at.start..at.end, 0);
            at.end -= at.start;
            at.scanned -= at.start;
            at.start = 0;
        }
        if at.end == self.buf.len() {
            let limit = at.max.saturating_add(1).max(INITIAL_CAPACITY);
            let size = (self.buf.len() * 2).clamp(INITIAL_CAPACITY, limit);
            self.buf.resize(size.max(at.end + 1), 0);
        }
        let n = io.read(&mut self.buf[at.end..]);
        at.end += n;
        n > 0
    }

    /// Whether all input read so far has been handed out.
    pub(crate) fn is_empty(&self) -> bool {
        self.at.start == self.at.end
    }

    /// The next complete line in the buffer, if any, with its start as read by
    /// [`fast_head`] when it is in the protocol's fixed form (the search for the line's
    /// end then starts after those bytes, which hold no `\n`), and the attachment that
    /// came in front of it, if one did.
    pub(crate) fn next_fast_line(&mut self) -> Option<Framed<'_>> {
        let (line_start, attachment) = self.at.line_start(&self.buf)?;
        let head = fast_head(&self.buf[line_start..self.at.end]);
        if let Some(head) = &head {
            let at = &mut self.at;
            at.scanned = at.scanned.max(line_start + head.body()).min(at.end);
        }
        let line = self.at.next_line(&self.buf, line_start)?;
        let attachment = match line {
            Line::Complete(_) => attachment.map(|range| &self.buf[range]),
            Line::TooLarge => None,
        };
        Some((line, head, attachment))
    }

    /// What is left at the end of input: a last line without `\n`, if any.
    pub(crate) fn rest(&mut self) -> Option<Line<'_>> {
        let at = &mut self.at;
        let line = at.start..at.end;
        at.start = at.end;
        at.scanned = at.end;
        if std::mem::take(&mut at.discarding) {
            return Some(Line::TooLarge);
        }
        // A frame with an attachment cut off by the end of input has no line to answer.
        if std::mem::take(&mut at.skip) > 0 || attachment_len(&self.buf[line.clone()]).is_some() {
            return None;
        }
        (!line.is_empty()).then(|| Line::Complete(&self.buf[line]))
    }
}

impl Cursor {
    /// Where the line of the frame at `start` begins, past its attachment (whose bytes
    /// are returned too); `None` until the attachment is all in `buf`. An attachment over
    /// the cap is dropped as it comes, and its line after it.
    fn line_start(&mut self, buf: &[u8]) -> Option<(usize, Option<Range<usize>>)> {
        if self.skip > 0 {
            let dropped = self.skip.min(self.end - self.start);
            self.skip -= dropped;
            self.start += dropped;
            self.scanned = self.scanned.max(self.start);
            if self.skip > 0 {
                return None;
            }
        }
        if self.discarding {
            return Some((self.start, None));
        }
        match attachment_len(&buf[self.start..self.end]) {
            None => Some((self.start, None)),
            Some(Err(())) => None,
            Some(Ok(len)) => {
                let frame = ATTACHMENT_HEADER.saturating_add(len);
                if frame > self.max {
                    self.skip = frame;
                    self.discarding = true;
                    return self.line_start(buf);
                }
                let line_start = self.start + frame;
                if line_start > self.end {
                    return None;
                }
                self.scanned = self.scanned.max(line_start);
                Some((line_start, Some(self.start + ATTACHMENT_HEADER..line_start)))
            }
        }
    }

    /// Moves past the next complete frame in `buf`, whose line begins at `line_start`,
    /// if it is complete, and returns its line.
    fn next_line<'a>(&mut self, buf: &'a [u8], line_start: usize) -> Option<Line<'a>> {
        match find_newline(&buf[self.scanned..self.end]) {
            Some(offset) => {
                let newline = self.scanned + offset;
                let frame = newline - self.start;
                let line = line_start..newline;
                self.start = newline + 1;
                self.scanned = self.start;
                if std::mem::take(&mut self.discarding) || frame > self.max {
                    return Some(Line::TooLarge);
                }
                Some(Line::Complete(&buf[line]))
            }
            None => {
                self.scanned = self.end;
                if self.discarding || self.end - self.start > self.max {
                    self.discarding = true;
                    self.start = self.end;
                }
                None
            }
        }
    }
}

/// Bytes checked 8 at a time before handing the rest to `memchr`.
const SHORT: usize = 128;

/// The index of the first `\n` in `bytes`.
///
/// Most lines are short requests and responses, for which `memchr`'s setup costs more
/// than the search on wasm (~350 wasm operations for a 50-byte line); a plain 8-bytes-at-a-time
/// check takes ~80. Longer input goes on to `memchr`.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_le_bytes([b'\n'; 8]);
    let head = &bytes[..bytes.len().min(SHORT)];
    let (words, tail) = head.as_chunks::<8>();
    for (i, word) in words.iter().enumerate() {
        // A zero byte of `x` sets its high bit in `(x - ONES) & !x & HIGHS`; the lowest
        // one set marks the first zero byte exactly (borrows only disturb higher bytes).
        let x = u64::from_le_bytes(*word) ^ NEWLINES;
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        if zeros != 0 {
            return Some(i * 8 + (zeros.trailing_zeros() / 8) as usize);
        }
    }
    let checked = words.len() * 8;
    if let Some(i) = tail.iter().position(|&b| b == b'\n') {
        return Some(checked + i);
    }
    let rest = head.len();
    memchr::memchr(b'\n', &bytes[rest..]).map(|i| rest + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    struct Chunks(VecDeque<Vec<u8>>);

    impl Io for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> usize {
            let Some(mut chunk) = self.0.pop_front() else {
                return 0;
            };
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            if n < chunk.len() {
                self.0.push_front(chunk.split_off(n));
            }
            n
        }

        fn write(&mut self, _: &[u8]) -> bool {
            true
        }
    }

    fn lines(max: usize, chunks: &[&[u8]]) -> Vec<String> {
        let mut io = Chunks(chunks.iter().map(|c| c.to_vec()).collect());
        let mut reader = LineReader::new(max);
        let mut out = Vec::new();
        let mut push = |line: Line<'_>| {
            out.push(match line {
                Line::Complete(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
                Line::TooLarge => "<too large>".to_owned(),
            })
        };
        while reader.fill(&mut io) {
            while let Some((line, _, _)) = reader.next_fast_line() {
                push(line);
            }
        }
        if let Some(line) = reader.rest() {
            push(line);
        }
        out
    }

    #[test]
    fn finds_the_first_newline() {
        for len in 0..300usize {
            for at in (0..len).step_by(7).chain([len.saturating_sub(1)]) {
                let mut bytes = vec![b'x'; len];
                // Bytes around `\n` (0x0a) and high bytes must not be mistaken for it.
                for (i, b) in bytes.iter_mut().enumerate() {
                    *b = [b'x', 0x0b, 0x09, 0x8a, 0xff, 0x00][i % 6];
                }
                let expected = (len > 0).then_some(at);
                if len > 0 {
                    bytes[at] = b'\n';
                    bytes.extend_from_slice(b"\n\n");
                }
                assert_eq!(find_newline(&bytes), expected, "len {len}, at {at}");
            }
        }
        assert_eq!(find_newline(b""), None);
        assert_eq!(find_newline(&[b'y'; 200]), None);
    }

    #[test]
    fn splits_lines_across_reads() {
        assert_eq!(
            lines(100, &[b"ab", b"c\nde", b"f\n\ng\nh"]),
            ["abc", "def", "", "g", "h"]
        );
    }

    #[test]
    fn lines_longer_than_the_buffer_grow_it() {
        let mut input = vec![b'x'; 10_000];
        input.extend_from_slice(b"\nshort\n");
        let got = lines(20_000, &[&input]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), 10_000);
        assert_eq!(got[1], "short");
    }

    /// The lines and attachments a reader with cap `max` hands out from `chunks`.
    fn frames(max: usize, chunks: &[&[u8]]) -> Vec<(String, Option<Vec<u8>>)> {
        let mut io = Chunks(chunks.iter().map(|c| c.to_vec()).collect());
        let mut reader = LineReader::new(max);
        let mut out = Vec::new();
        while reader.fill(&mut io) {
            while let Some((line, _, attachment)) = reader.next_fast_line() {
                let line = match line {
                    Line::Complete(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
                    Line::TooLarge => "<too large>".to_owned(),
                };
                out.push((line, attachment.map(<[u8]>::to_vec)));
            }
        }
        out
    }

    #[test]
    fn attachments_come_with_their_line_whatever_bytes_they_hold() {
        use bevy_wasmi_plugins_protocol::attach::write_attachment;
        let mut wire = b"first\n".to_vec();
        let blob: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        write_attachment(&mut wire, &blob).unwrap();
        wire.extend_from_slice(b"{\"id\":1}\nlast\n");
        let expected = vec![
            ("first".to_owned(), None),
            ("{\"id\":1}".to_owned(), Some(blob.clone())),
            ("last".to_owned(), None),
        ];
        // Whole, and in pieces of every size: the header, the bytes and the line may
        // each be cut anywhere.
        assert_eq!(frames(10_000, &[&wire]), expected);
        for size in [1, 2, 3, 5, 7, 64, 699] {
            let chunks: Vec<&[u8]> = wire.chunks(size).collect();
            assert_eq!(frames(10_000, &chunks), expected, "pieces of {size}");
        }
        // Over the cap (its header and bytes and line together): dropped, bytes and
        // line, and reported once; the next line is read as usual, even when the
        // dropped bytes hold `\n`s and NULs.
        let got = frames(600, &[&wire]);
        assert_eq!(
            got,
            [
                ("first".to_owned(), None),
                ("<too large>".to_owned(), None),
                ("last".to_owned(), None)
            ]
        );
        let chunks: Vec<&[u8]> = wire.chunks(50).collect();
        assert_eq!(frames(600, &chunks), got);
        // Cut off by the end of input: nothing to answer.
        let mut reader = LineReader::new(10_000);
        let mut io = Chunks([wire[6..300].to_vec()].into());
        assert!(reader.fill(&mut io));
        assert!(reader.next_fast_line().is_none());
        assert_eq!(reader.rest(), None);
    }

    #[test]
    fn lines_over_the_cap_are_dropped_and_reported() {
        let long = vec![b'x'; 10_000];
        let got = lines(5000, &[b"ok\n", &long, &long, b"x\nnext\n"]);
        assert_eq!(got, ["ok", "<too large>", "next"]);
        // Over the cap within one read.
        let mut input = vec![b'y'; 6000];
        input.extend_from_slice(b"\nafter");
        assert_eq!(lines(5000, &[&input]), ["<too large>", "after"]);
        // Exactly at the cap is fine.
        let mut input = vec![b'z'; 5000];
        input.push(b'\n');
        assert_eq!(lines(5000, &[&input])[0].len(), 5000);
        // Cut off by the end of input.
        assert_eq!(lines(5000, &[&long]), ["<too large>"]);
    }
}
