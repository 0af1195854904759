//! State shared by the main loop, the tasks and [`host`](crate::host): the output buffer
//! and the host calls waiting for an answer.

use std::cell::RefCell;
use std::task::Waker;

use bevy_wasmi_plugins_protocol::{RequestId, ResponseError, write_result};

/// A host call, by id.
pub(crate) enum CallSlot {
    /// Sent, not answered; the waker of the task awaiting it, once polled.
    Waiting(Option<Waker>),
    /// Answered: the result's JSON bytes, or the host's error; and the attachment that
    /// came with a result, if one did.
    Answered(Result<Vec<u8>, ResponseError>, Option<Vec<u8>>),
    /// Its future was dropped: the answer, when it comes, is dropped too.
    Abandoned,
}

/// Host calls by id: a vector sorted by id. Ids only grow and few calls are in flight at
/// once, so this beats a `BTreeMap` in speed and in code size (and a `HashMap` would
/// import `random_get` for its seed).
pub(crate) struct Calls(Vec<(i64, CallSlot)>);

impl Calls {
    fn find(&self, id: i64) -> Result<usize, usize> {
        // Usually the newest or the oldest: check the ends first.
        match self.0.last() {
            None => Err(0),
            Some((last, _)) if *last < id => Err(self.0.len()),
            Some(_) => self.0.binary_search_by_key(&id, |(i, _)| *i),
        }
    }

    /// Adds or replaces the slot of `id`.
    pub(crate) fn insert(&mut self, id: i64, slot: CallSlot) {
        match self.find(id) {
            Ok(i) => self.0[i].1 = slot,
            Err(i) => self.0.insert(i, (id, slot)),
        }
    }

    pub(crate) fn get(&self, id: &i64) -> Option<&CallSlot> {
        self.find(*id).ok().map(|i| &self.0[i].1)
    }

    pub(crate) fn get_mut(&mut self, id: &i64) -> Option<&mut CallSlot> {
        self.find(*id).ok().map(|i| &mut self.0[i].1)
    }

    pub(crate) fn remove(&mut self, id: &i64) -> Option<CallSlot> {
        self.find(*id).ok().map(|i| self.0.remove(i).1)
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

pub(crate) struct Shared {
    /// Everything to write to stdout at the next flush.
    pub(crate) out: Vec<u8>,
    /// Host calls without a consumed answer.
    pub(crate) calls: Calls,
    /// The id of the next host call.
    pub(crate) next_id: i64,
    /// Result buffers to reuse.
    pub(crate) spare: Vec<Vec<u8>>,
    /// Pieces of the last host request, for the next.
    pub(crate) head: RequestHead,
    /// The start of the last response, for the next.
    pub(crate) response_head: ResponseHead,
    /// The batch [`host::batch`](crate::host::batch) is collecting, if any.
    pub(crate) batch: Option<Batch>,
}

/// A batch being written into [`Shared::out`].
#[derive(Clone, Copy)]
pub(crate) struct Batch {
    /// Where its first message starts.
    pub(crate) start: usize,
    /// Messages written so far.
    pub(crate) count: usize,
}

/// `{"jsonrpc":"2.0","id":<id>,"result":` for the last response with a numeric id. The
/// host numbers its requests one up from the last, so the next head is usually this one
/// with its digits counted up: cheaper on wasm than formatting the id again.
pub(crate) struct ResponseHead {
    /// The id in `text`.
    id: i64,
    /// Empty until the first response.
    text: Vec<u8>,
}

impl ResponseHead {
    /// Writes the head of a success response to request `id` to `out`.
    #[inline(always)]
    pub(crate) fn write(&mut self, out: &mut Vec<u8>, id: i64) {
        const PREFIX: usize = br#"{"jsonrpc":"2.0","id":"#.len();
        const SUFFIX: usize = br#","result":"#.len();
        if self.text.is_empty() || id != self.id {
            if !self.text.is_empty() && self.id >= 0 && self.id.checked_add(1) == Some(id) {
                let end = self.text.len() - SUFFIX;
                count_up(&mut self.text, PREFIX, end);
            } else {
                self.text.clear();
                // `…,"result":null}` without its `null}`: never fails for `()`.
                let _ = write_result(&mut self.text, &RequestId::Number(id), &());
                self.text.truncate(self.text.len() - b"null}".len());
            }
            self.id = id;
        }
        out.extend_from_slice(&self.text);
    }
}

/// Adds one to the decimal number in `text[start..end]` (digits only), in place.
fn count_up(text: &mut Vec<u8>, start: usize, end: usize) {
    for i in (start..end).rev() {
        if text[i] < b'9' {
            text[i] += 1;
            return;
        }
        text[i] = b'0';
    }
    text.insert(start, b'1');
}

/// The start of a host request, kept from one call to the next: on wasm, writing the
/// id and method from scratch costs a mod more than the rest of the request.
pub(crate) struct RequestHead {
    /// `{"jsonrpc":"2.0","id":` and the digits of [`Shared::next_id`]; empty until the
    /// first call.
    pub(crate) id: Vec<u8>,
    /// The method of the last call.
    pub(crate) method: String,
    /// `,"method":<method>,"params":` for that method.
    pub(crate) method_part: Vec<u8>,
}

impl RequestHead {
    /// Counts the id's digits one up, as [`Shared::next_id`] is.
    pub(crate) fn next_id(&mut self) {
        let prefix = br#"{"jsonrpc":"2.0","id":"#.len();
        if self.id.len() > prefix {
            let end = self.id.len();
            count_up(&mut self.id, prefix, end);
        }
    }
}

thread_local! {
    static SHARED: RefCell<Shared> = const {
        RefCell::new(Shared {
            out: Vec::new(),
            calls: Calls(Vec::new()),
            next_id: 1,
            spare: Vec::new(),
            head: RequestHead {
                id: Vec::new(),
                method: String::new(),
                method_part: Vec::new(),
            },
            response_head: ResponseHead {
                id: 0,
                text: Vec::new(),
            },
            batch: None,
        })
    };
}

/// Runs `f` on the shared state.
///
/// # Panics
///
/// If called from inside another `with` (a bug in this crate).
pub(crate) fn with<T>(f: impl FnOnce(&mut Shared) -> T) -> T {
    SHARED.with(|shared| f(&mut shared.borrow_mut()))
}

/// Runs `f` on the shared state unless it is gone (thread teardown) or in use.
pub(crate) fn try_with(f: impl FnOnce(&mut Shared)) {
    let _ = SHARED.try_with(|shared| {
        if let Ok(mut shared) = shared.try_borrow_mut() {
            f(&mut shared);
        }
    });
}

/// Forgets everything (a new run on this thread).
pub(crate) fn reset() {
    with(|shared| {
        shared.out.clear();
        shared.calls.clear();
        shared.next_id = 1;
        shared.head.id.clear();
        shared.batch = None;
    });
}

/// Gives a buffer back to be reused for a later answer.
pub(crate) fn recycle(mut bytes: Vec<u8>) {
    bytes.clear();
    with(|shared| shared.spare.push(bytes));
}

/// Routes the host's answer to call `id`, with the attachment that came with it;
/// returns false when no call waits for it.
pub(crate) fn answer(
    id: i64,
    result: Result<&[u8], ResponseError>,
    attachment: Option<&[u8]>,
) -> bool {
    let waker = with(|shared| {
        let slot = shared.calls.get_mut(&id)?;
        match slot {
            CallSlot::Waiting(waker) => {
                let waker = waker.take();
                let mut copy = |bytes: &[u8]| {
                    let mut buf = shared.spare.pop().unwrap_or_default();
                    buf.extend_from_slice(bytes);
                    buf
                };
                let attachment = attachment.map(&mut copy);
                *slot = CallSlot::Answered(result.map(copy), attachment);
                Some(waker)
            }
            CallSlot::Abandoned => {
                shared.calls.remove(&id);
                Some(None)
            }
            CallSlot::Answered(..) => None,
        }
    });
    match waker {
        Some(waker) => {
            if let Some(waker) = waker {
                waker.wake();
            }
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_count_up_in_text() {
        let mut head = RequestHead {
            id: Vec::new(),
            method: String::new(),
            method_part: Vec::new(),
        };
        head.next_id(); // nothing written yet: nothing to count
        assert!(head.id.is_empty());
        head.id = br#"{"jsonrpc":"2.0","id":1"#.to_vec();
        for n in 1..=100_000u32 {
            assert_eq!(&head.id[22..], n.to_string().as_bytes());
            head.next_id();
        }
    }

    #[test]
    fn response_heads_follow_any_id() {
        let mut head = ResponseHead {
            id: 0,
            text: Vec::new(),
        };
        let ids = (0..=12)
            .chain([
                98,
                99,
                100,
                100,
                7,
                -1,
                0,
                -9,
                i64::MAX - 1,
                i64::MAX,
                i64::MIN,
                5,
            ])
            .chain(999_998..=1_000_001);
        for id in ids {
            let mut out = b"before".to_vec();
            head.write(&mut out, id);
            let expected = format!(r#"before{{"jsonrpc":"2.0","id":{id},"result":"#);
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn calls_stay_sorted_by_id() {
        let mut calls = Calls(Vec::new());
        for id in [3, 4, 1, 7, 5] {
            calls.insert(id, CallSlot::Waiting(None));
        }
        let ids: Vec<i64> = calls.0.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [1, 3, 4, 5, 7]);
        calls.insert(4, CallSlot::Abandoned);
        assert!(matches!(calls.get(&4), Some(CallSlot::Abandoned)));
        assert!(calls.get(&2).is_none() && calls.get(&8).is_none() && calls.get(&0).is_none());
        assert!(matches!(calls.remove(&1), Some(CallSlot::Waiting(None))));
        assert!(calls.remove(&1).is_none());
        assert!(calls.get_mut(&7).is_some());
        assert_eq!(calls.0.len(), 4);
    }
}
