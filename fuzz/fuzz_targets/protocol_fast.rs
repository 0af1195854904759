//! The protocol's fast readers (`fast_head`, `FastHead::finish`, `fast_parse`) against
//! the general parser (`parse_frame`) on the same line.
//!
//! The input's bytes up to its first `\n` are the line; the whole input is what a read
//! buffer holds (the line and whatever came after it). Checked:
//!
//! - `parse_frame` never panics;
//! - when `fast_parse` accepts the line as a request or notification, `parse_frame` reads
//!   the same single message: kind, id, method and params (as raw JSON);
//! - when it accepts it as a success response whose result is valid JSON, `parse_frame`
//!   reads a success response with the same id and result (an invalid result is the
//!   caller's deserializer's to refuse, as `fast_result` documents);
//! - `fast_head` on the whole buffer reads no line break, and its `finish` on the line
//!   agrees with `fast_parse` on the line;
//! - whatever `parse_frame` reads as a request or notification, written again with the
//!   protocol's writers, is accepted by `fast_parse` as the same message whenever the
//!   method needs no escapes (the fixed form the fast path exists for).

#![no_main]

use bevy_wasmi_plugins_protocol::{
    Fast, Frame, Message, RequestId, fast_head, fast_parse, parse_frame, write_notification,
    write_request,
};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

/// A message in a comparable form: kind, id, method, params.
fn describe(message: &Message<'_>) -> String {
    match message {
        Message::Request(r) => format!(
            "request {:?} {:?} {:?}",
            r.id,
            r.method,
            r.params.map(RawValue::get)
        ),
        Message::Notification(n) => {
            format!(
                "notification {:?} {:?}",
                n.method,
                n.params.map(RawValue::get)
            )
        }
        Message::Response(r) => format!(
            "response {:?} {:?}",
            r.id,
            r.result.as_ref().map(|raw| raw.get())
        ),
    }
}

fn describe_fast(fast: &Fast<'_>) -> String {
    match fast {
        Fast::Result { id, result } => format!("result {id} {result:?}"),
        Fast::Message(message) => describe(message),
    }
}

/// What `parse_frame` reads as one valid message, if that is what the line is.
fn general(line: &[u8]) -> Option<String> {
    match parse_frame(line) {
        Ok(Frame::Single(Ok(message))) => Some(describe(&message)),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let line = match data.iter().position(|&b| b == b'\n') {
        Some(end) => &data[..end],
        None => data,
    };
    let slow = parse_frame(line);
    let fast = fast_parse(line);

    match &fast {
        Some(Fast::Message(message)) => {
            assert_eq!(
                general(line),
                Some(describe(message)),
                "fast and general parsers differ on {:?}",
                String::from_utf8_lossy(line)
            );
        }
        Some(Fast::Result { id, result }) => {
            if let Ok(raw) = serde_json::from_slice::<&RawValue>(result) {
                let got = match &slow {
                    Ok(Frame::Single(Ok(Message::Response(response)))) => Some((
                        response.id.clone(),
                        response
                            .result
                            .as_ref()
                            .map(|raw| raw.get().to_owned())
                            .ok(),
                    )),
                    _ => None,
                };
                assert_eq!(
                    got,
                    Some((Some(RequestId::Number(*id)), Some(raw.get().to_owned()))),
                    "fast and general parsers differ on {:?}",
                    String::from_utf8_lossy(line)
                );
            }
        }
        None => {}
    }

    // The head read from the whole buffer, finished on the line.
    match fast_head(data) {
        Some(head) => {
            assert!(head.body() <= line.len(), "head read past the line break");
            assert!(!data[..head.body()].contains(&b'\n'));
            let finished = head.finish(line);
            assert_eq!(
                finished.as_ref().map(describe_fast),
                fast.as_ref().map(describe_fast),
                "fast_head + finish and fast_parse differ on {:?}",
                String::from_utf8_lossy(data)
            );
        }
        None => assert!(
            fast.is_none(),
            "fast_head refused a buffer whose line fast_parse reads: {:?}",
            String::from_utf8_lossy(data)
        ),
    }

    // What the general parser read, in the writers' fixed form, takes the fast path.
    if let Ok(Frame::Single(Ok(message))) = &slow {
        let mut out = Vec::new();
        let (written, plain) = match message {
            Message::Request(r) => (
                write_request(&mut out, &r.id, &r.method, r.params),
                matches!(r.id, RequestId::Number(_)),
            ),
            Message::Notification(n) => (write_notification(&mut out, &n.method, n.params), true),
            Message::Response(_) => (Ok(()), false),
        };
        let method = match message {
            Message::Request(r) => r.method.as_ref(),
            Message::Notification(n) => n.method.as_ref(),
            Message::Response(_) => "",
        };
        let needs_escapes = method.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20);
        if written.is_ok() && plain && !needs_escapes {
            let again = fast_parse(&out).map(|fast| describe_fast(&fast));
            assert_eq!(
                again,
                Some(describe(message)),
                "fast_parse refused the writer's form {:?} of {:?}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(line)
            );
        }
    }
});
