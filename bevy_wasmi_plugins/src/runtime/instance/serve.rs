//! Serving what a mod writes: its log lines to the host, its requests and notifications
//! to the [`ModHost`], its answers to the calls waiting for them, under the caps.

use std::collections::BTreeMap;

use bevy_wasmi_plugins_protocol::attach::{
    ATTACHMENT_HEADER, Split, split_frame, write_attachment,
};
use bevy_wasmi_plugins_protocol::{
    ErrorCode, Fast, Message, Outcome, Request, RequestId, Response, ResponseError, fast_parse,
    serve_frame_with, write_outcome,
};
use serde_json::value::RawValue;

use super::{ModHost, ModInstance, Pending};
use crate::runtime::error::{ModError, ModErrorKind};

/// Longest stderr line passed on whole; longer ones are split.
const MAX_LOG_LINE: usize = 8 * 1024;

/// Most stderr lines passed to [`ModHost::log`] per [`ModInstance::run`] (per frame in
/// the Bevy layer): what a mod logs past it in one run is dropped, and the host is told
/// how much with a [`ModHost::protocol_warning`]. A mod writing megabytes of empty or
/// short lines would otherwise cost the game one log call per line.
pub(crate) const MAX_LOG_LINES_PER_RUN: usize = 1024;

impl ModInstance {
    /// Passes stderr lines to the host and serves complete stdout lines, until `served`
    /// (the messages served in this run) reaches the per-run cap or the host's
    /// [`ModHost::should_pause`] says so; the rest stays for the next run. Returns the
    /// fuel the served messages cost.
    ///
    /// Returns an error when the replies the mod has not read would pass the input cap
    /// (a mod that sends without ever reading), or when it sent too many invalid lines
    /// in a row: serving stops there.
    pub(super) fn serve_output(
        &mut self,
        host: &mut dyn ModHost,
        served: &mut usize,
    ) -> Result<u64, ModError> {
        let name = self.guest.name().clone();
        if self.guest.has_stderr() {
            let stderr = self.guest.take_stderr();
            self.log_lines(&name, &stderr, host);
            self.guest.recycle_stderr(stderr);
        }

        if !self.has_backlog() {
            self.guest.take_stdout_lines(&mut self.lines);
            self.lines_pos = 0;
            if self.lines.is_empty() {
                return Ok(0);
            }
        }
        let max_message = self.limits.max_message_size;
        // At least one, so that a backlog always shrinks (the field is public).
        let max_served = self.limits.max_messages_per_run.max(1);
        let max_invalid = self.limits.max_invalid_messages;
        let fuel_per_message = self.limits.fuel_per_message;
        let mut cost = 0u64;
        let pending = &mut self.pending;
        let replies = &mut self.replies;
        let invalid = &mut self.invalid_in_a_row;
        replies.clear();
        let room = self
            .limits
            .max_input_buffer
            .saturating_sub(self.guest.stdin_pending());
        let mut rest = &self.lines[self.lines_pos..];
        // Counts a line as valid or not; too many invalid ones in a row stop the mod.
        let mut judge = |valid: bool, line: &[u8]| {
            if valid {
                *invalid = 0;
                return Ok(());
            }
            *invalid = invalid.saturating_add(1);
            if *invalid > max_invalid {
                return Err(ModErrorKind::InvalidMessages {
                    count: *invalid,
                    last: quote(line),
                }
                .named(name.clone()));
            }
            Ok(())
        };
        let served_before = *served;
        while !rest.is_empty() && *served < max_served {
            // Past the host's deadline (the frame's wall-time budget) the rest waits for
            // the next run, as over the per-run cap: a mod that writes many requests
            // before it waits would otherwise have them all served at once, however long
            // they take. At least one message is served per call, so the mod advances.
            if *served > served_before && host.should_pause() {
                break;
            }
            let (mut attachment, line, after) = match split_frame(rest) {
                Split::Frame {
                    attachment,
                    line,
                    len,
                } => (attachment, line, &rest[len..]),
                // Only complete frames are taken from stdout.
                Split::Incomplete { .. } => (None, rest, &[][..]),
            };
            rest = after;
            if replies.len() > room {
                replies.clear();
                return Err(ModErrorKind::UnreadInput {
                    limit: self.limits.max_input_buffer,
                }
                .named(name));
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            // The fixed wire forms the PDK writes skip the general parser (and have
            // nothing to trim).
            let fast = fast_parse(line);
            // Every line counts against the per-run cap and the host's deadline, blank
            // ones too (they are skipped, for free): a mod writing megabytes of line
            // breaks cannot hold the host in this loop.
            *served += 1;
            if fast.is_none() && attachment.is_none() && line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // Every message is paid for, whatever it is.
            cost = cost.saturating_add(fuel_per_message);
            match fast {
                Some(Fast::Result { id, result }) => {
                    if attachment.take().is_some() {
                        stray_attachment(host, &name, "a response");
                    }
                    if let Ok(result) = serde_json::from_slice::<&RawValue>(result) {
                        let response = Response {
                            id: Some(RequestId::Number(id)),
                            result: Ok(result),
                        };
                        let known = complete(pending, &name, response, host);
                        judge(known, line)?;
                        continue;
                    }
                    if serde_json::from_slice::<&RawValue>(line).is_err() {
                        // Not JSON: the general parser answers a parse error with a null
                        // id, so the call this was meant to answer fails here.
                        let error = ResponseError::standard(ErrorCode::ParseError);
                        invalid_answer(pending, &name, RequestId::Number(id), &error, host);
                    }
                }
                Some(Fast::Message(Message::Request(request))) => {
                    let mut answer = None;
                    let outcome =
                        host.request_with_attachment(&name, &request, attachment, &mut answer);
                    let outcome = capped(outcome, answer.as_deref(), &request, &name, max_message);
                    if let (Ok(_), Some(bytes)) = (&outcome, &answer) {
                        // Within the cap, so within an attachment's 4 GiB.
                        let _ = write_attachment(replies, bytes);
                    }
                    write_outcome(replies, &request.id, &outcome);
                    replies.push(b'\n');
                    judge(true, line)?;
                    continue;
                }
                Some(Fast::Message(Message::Notification(notification))) => {
                    if attachment.is_some() {
                        stray_attachment(host, &name, "a notification");
                    }
                    host.notification(&name, &notification);
                    judge(true, line)?;
                    continue;
                }
                _ => {}
            }
            // An attachment goes with a request alone on its line; the first message of
            // any other line does not get it.
            let batch = line.trim_ascii_start().starts_with(b"[");
            if batch && attachment.take().is_some() {
                stray_attachment(host, &name, "a batch");
            }
            let mut answer: Option<Vec<u8>> = None;
            let answer_at = replies.len();
            let mut broken = Vec::new();
            let mut valid = false;
            // One line (a batch) gets at most one message's worth of answers: once they
            // would pass the cap, the rest of the batch is refused without being run.
            let mut answered = 0usize;
            // Why the rest of the batch is not run, once it is not.
            let mut full: Option<fn(&str, usize) -> ResponseError> = None;
            let mut messages = 0u64;
            serve_frame_with(
                line,
                replies,
                |message| {
                    messages += 1;
                    match message {
                        Message::Request(request) => {
                            valid = true;
                            if let Some(refusal) = full {
                                return Some(Err(refusal(&name, max_message)));
                            }
                            let mut answered_with = None;
                            let outcome = if batch {
                                host.request(&name, &request)
                            } else {
                                host.request_with_attachment(
                                    &name,
                                    &request,
                                    attachment.take(),
                                    &mut answered_with,
                                )
                            };
                            let outcome = capped(
                                outcome,
                                answered_with.as_deref(),
                                &request,
                                &name,
                                max_message,
                            );
                            let size = match &outcome {
                                Ok(result) => {
                                    result.get().len()
                                        + answered_with
                                            .as_ref()
                                            .map_or(0, |bytes| bytes.len() + ATTACHMENT_HEADER)
                                }
                                Err(error) => error.message.len(),
                            } + 64;
                            if answered + size > max_message {
                                full = Some(batch_full);
                                return Some(Err(batch_full(&name, max_message)));
                            }
                            answered += size;
                            // An answer refused for passing the cap (`-32004`) may have
                            // been as much work for the host as a full one: the rest is
                            // not run.
                            if matches!(&outcome, Err(error)
                                if error.code == ErrorCode::MessageTooLarge.code())
                            {
                                full = Some(after_too_large);
                            }
                            // Only a result goes with its attachment; checked last, so
                            // no refusal above has one in front of it.
                            if outcome.is_ok() {
                                answer = answered_with;
                            }
                            Some(outcome)
                        }
                        Message::Notification(notification) => {
                            valid = true;
                            if attachment.take().is_some() {
                                stray_attachment(host, &name, "a notification");
                            }
                            host.notification(&name, &notification);
                            None
                        }
                        Message::Response(response) => {
                            if attachment.take().is_some() {
                                stray_attachment(host, &name, "a response");
                            }
                            valid |= complete(pending, &name, response, host);
                            None
                        }
                    }
                },
                |id, error| broken.push((id, error)),
            );
            if attachment.is_some() {
                stray_attachment(host, &name, "a line that is not a valid message");
            }
            if let Some(bytes) = answer {
                // In front of the answer's line (a single request's: one line).
                let mut header = Vec::with_capacity(bytes.len() + ATTACHMENT_HEADER);
                let _ = write_attachment(&mut header, &bytes);
                replies.splice(answer_at..answer_at, header);
            }
            // Each message of a batch is paid for, not just the line.
            cost = cost.saturating_add(messages.saturating_sub(1).saturating_mul(fuel_per_message));
            for (id, error) in broken {
                invalid_answer(pending, &name, id, &error, host);
            }
            judge(valid, line)?;
        }
        self.lines_pos = self.lines.len() - rest.len();
        cost = cost.saturating_add(host.take_fuel());
        if !self.replies.is_empty() {
            self.guest.write_stdin(&self.replies);
            self.replies.clear();
        }
        Ok(cost)
    }

    /// Passes the complete lines in `bytes` (after the partial line kept from before) to
    /// the host, as many as this run may still log ([`MAX_LOG_LINES_PER_RUN`]), a line
    /// longer than [`MAX_LOG_LINE`] as several; keeps a partial last line (at most
    /// [`MAX_LOG_LINE`] bytes) for next time.
    fn log_lines(&mut self, name: &str, bytes: &[u8], host: &mut dyn ModHost) {
        let mut logged = MAX_LOG_LINES_PER_RUN - self.log_lines_left;
        let mut dropped = 0;
        let mut rest = bytes;
        'lines: while !rest.is_empty() {
            let (mut piece, end) = match memchr::memchr(b'\n', rest) {
                Some(i) => (&rest[..i], true),
                None => (rest, false),
            };
            rest = &rest[piece.len() + usize::from(end)..];
            // Each time the line fills `MAX_LOG_LINE`, that much is logged as a record.
            loop {
                let room = MAX_LOG_LINE - self.stderr_line.len();
                if piece.len() <= room {
                    self.stderr_line.extend_from_slice(piece);
                    break;
                }
                if logged == MAX_LOG_LINES_PER_RUN {
                    // What is left is dropped unread, this line and the rest.
                    dropped += self.stderr_line.len() + piece.len() + usize::from(end);
                    dropped += rest.len();
                    self.stderr_line.clear();
                    break 'lines;
                }
                self.stderr_line.extend_from_slice(&piece[..room]);
                piece = &piece[room..];
                host.log(name, &String::from_utf8_lossy(&self.stderr_line));
                logged += 1;
                self.stderr_line.clear();
            }
            if end {
                if logged < MAX_LOG_LINES_PER_RUN {
                    host.log(
                        name,
                        String::from_utf8_lossy(&self.stderr_line).trim_end_matches('\r'),
                    );
                    logged += 1;
                } else {
                    dropped += self.stderr_line.len() + 1;
                }
                self.stderr_line.clear();
            }
        }
        self.log_lines_left = MAX_LOG_LINES_PER_RUN - logged;
        // Said once a run, when the first line is dropped.
        if dropped > 0 && !self.log_dropped {
            self.log_dropped = true;
            host.protocol_warning(
                name,
                &format!(
                    "the rest of its log this run is dropped ({dropped} bytes so far): it \
                     logged {MAX_LOG_LINES_PER_RUN} lines in it"
                ),
            );
        }
    }
}

/// The host's answer to a mod's request, or `-32004` when the answer would be a longer
/// line than the mod's message cap: the mod would refuse such a line, and its call would
/// wait for an answer that never comes.
fn capped(
    outcome: Outcome,
    attachment: Option<&[u8]>,
    request: &Request<'_>,
    name: &str,
    max_message: usize,
) -> Outcome {
    // The line is the result inside `{"jsonrpc":"2.0","id":<id>,"result":…}` (33 bytes
    // and the id). The id's length is bounded from above, not measured: at most 20 digits,
    // or 6 bytes a character in a string (`\u00XX`) and its quotes. A long string id
    // counts fully, so no answer that would be over the cap gets through.
    let id = match &request.id {
        RequestId::Number(_) => 20,
        RequestId::String(id) => 2 + 6 * id.len(),
    };
    // An attachment and its header count too: the mod reads them as one frame.
    let attached = attachment.map_or(0, |bytes| bytes.len() + ATTACHMENT_HEADER);
    match outcome {
        Ok(result) if result.get().len() + attached + 33 + id > max_message => {
            Err(ResponseError::new(
                ErrorCode::MessageTooLarge,
                format!(
                    "the answer to {} is {} bytes, longer than the message cap of mod \
                     `{name}` ({max_message} bytes)",
                    request.method,
                    result.get().len() + attached
                ),
            ))
        }
        outcome => outcome,
    }
}

/// An attachment that came with something other than a request alone on its line is
/// dropped, and the host told.
fn stray_attachment(host: &mut dyn ModHost, name: &str, what: &str) {
    host.protocol_warning(
        name,
        &format!("an attachment came with {what}, not with a request of its own; it was dropped"),
    );
}

/// The `-32004` a request in a batch gets once the batch's answers reached the cap.
fn batch_full(name: &str, max_message: usize) -> ResponseError {
    ResponseError::new(
        ErrorCode::MessageTooLarge,
        format!(
            "the answers to this batch reached the message cap of mod `{name}` \
             ({max_message} bytes); this request was not run"
        ),
    )
}

/// `-32004` for the requests of a batch after one refused for passing the message cap.
fn after_too_large(name: &str, max_message: usize) -> ResponseError {
    ResponseError::new(
        ErrorCode::MessageTooLarge,
        format!(
            "an earlier request of this batch was refused for passing the message cap of \
             mod `{name}` ({max_message} bytes); this request was not run"
        ),
    )
}

/// A line the mod sent, shortened for an error message.
fn quote(line: &[u8]) -> String {
    const MAX: usize = 60;
    let text = String::from_utf8_lossy(&line[..line.len().min(MAX)]);
    let more = if line.len() > MAX { "…" } else { "" };
    format!("`{}{more}`", text.escape_debug())
}

/// Routes a response from the mod to the call waiting for it; `false` when no call
/// waits for it.
fn complete(
    pending: &mut BTreeMap<i64, Pending>,
    name: &str,
    response: Response<'_>,
    host: &mut dyn ModHost,
) -> bool {
    let sender = match &response.id {
        Some(RequestId::Number(id)) => pending.remove(id).map(|p| p.sender),
        _ => None,
    };
    let Some(sender) = sender else {
        let id = response
            .id
            .as_ref()
            .map_or_else(|| "null".to_owned(), ToString::to_string);
        host.protocol_warning(name, &format!("response to unknown request id {id}"));
        return false;
    };
    sender.send(response.result.map(ToOwned::to_owned));
    true
}

/// Fails the call a malformed answer from the mod was meant for (the mod is not told:
/// an error response would look like the answer to one of its own requests).
fn invalid_answer(
    pending: &mut BTreeMap<i64, Pending>,
    name: &str,
    id: RequestId,
    error: &ResponseError,
    host: &mut dyn ModHost,
) {
    let sender = match &id {
        RequestId::Number(id) => pending.remove(id).map(|p| p.sender),
        RequestId::String(_) => None,
    };
    let what = format!(
        "answered request {id} with something that is not a valid response ({})",
        error.message
    );
    match sender {
        Some(sender) => {
            let error =
                ResponseError::new(ErrorCode::InvalidRequest, format!("mod `{name}` {what}"));
            sender.send(Err(error));
        }
        None => host.protocol_warning(name, &format!("{what}, and no such request is pending")),
    }
}
