//! Answering input lines: routing responses to waiting host calls, starting a task per
//! request and notification, and writing responses (batches as one array line).

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use bevy_wasmi_plugins_protocol::lifecycle::{Manifest, ShutdownResult};
use bevy_wasmi_plugins_protocol::{
    Entry, ErrorCode, Fast, FastHead, Frame, Message, Notification, Request, RequestId,
    ResponseError, fast_parse, parse_frame, write_error, write_result, write_value,
};
use serde::Serialize;
use serde_json::value::RawValue;

use super::executor::{Executor, Task};
use super::state::ResponseHead;
use super::{INIT, Meta, SHUTDOWN, same_bytes, state};
use crate::{Error, Init, Methods, Params, Plugin};

/// Where a response goes.
enum ReplyTo {
    /// Its own line.
    Single,
    /// Entry `index` of a batch's answer.
    Batch(Rc<RefCell<BatchReply>>, usize),
}

impl ReplyTo {
    /// Writes one response with `write` (given the cached response head for a line of
    /// its own) and sends it where it belongs.
    #[inline(always)]
    fn send(self, write: impl FnOnce(&mut Vec<u8>, Option<&mut ResponseHead>)) {
        match self {
            ReplyTo::Single => state::with(|shared| {
                write(&mut shared.out, Some(&mut shared.response_head));
                shared.out.push(b'\n');
            }),
            ReplyTo::Batch(batch, index) => {
                let mut part = Vec::new();
                write(&mut part, None);
                let mut reply = batch.borrow_mut();
                reply.parts[index] = Some(part);
                reply.done();
            }
        }
    }
}

/// The responses of a batch, sent as one array once all its requests are answered.
struct BatchReply {
    parts: Vec<Option<Vec<u8>>>,
    /// Responses still to come, plus one while the batch is being dispatched.
    pending: usize,
}

impl BatchReply {
    /// A reply slot for entry `index`.
    fn slot(batch: &Rc<RefCell<BatchReply>>, index: usize) -> ReplyTo {
        batch.borrow_mut().pending += 1;
        ReplyTo::Batch(batch.clone(), index)
    }

    /// One response (or the dispatch) is done; sends the array after the last.
    fn done(&mut self) {
        self.pending -= 1;
        if self.pending > 0 {
            return;
        }
        let mut parts = self.parts.iter().flatten().peekable();
        if parts.peek().is_none() {
            return; // only notifications: nothing is sent
        }
        state::with(|shared| {
            shared.out.push(b'[');
            for (i, part) in parts.enumerate() {
                if i > 0 {
                    shared.out.push(b',');
                }
                shared.out.extend_from_slice(part);
            }
            shared.out.extend_from_slice(b"]\n");
        });
    }
}

/// Sends the response to one request.
#[doc(hidden)]
pub struct Responder {
    id: RequestId,
    to: ReplyTo,
}

impl Responder {
    /// Answers with `outcome`.
    pub fn finish<R: Serialize + 'static>(self, outcome: Result<R, Error>) {
        match outcome {
            Ok(result) => self.result(&result),
            Err(error) => self.error(error.as_response_error()),
        }
    }

    /// Answers with a result (an internal error if it does not serialize).
    pub fn result<R: Serialize + 'static>(self, result: &R) {
        let id = self.id;
        self.to.send(|out, head| {
            let start = out.len();
            write_result_head(out, &id, head);
            match write_value(out, result) {
                Ok(()) => out.push(b'}'),
                Err(e) => {
                    out.truncate(start);
                    let error = ResponseError::internal(format!("result did not serialize: {e}"));
                    write_error(out, Some(&id), &error);
                }
            }
        });
    }

    /// Answers with an error.
    pub fn error(self, error: &ResponseError) {
        let id = self.id;
        self.to.send(|out, _| write_error(out, Some(&id), error));
    }
}

/// Writes `{"jsonrpc":"2.0","id":<id>,"result":`, from `cache` for a numeric id.
#[inline(always)]
fn write_result_head(out: &mut Vec<u8>, id: &RequestId, cache: Option<&mut ResponseHead>) {
    match (id, cache) {
        (RequestId::Number(n), Some(cache)) => cache.write(out, *n),
        _ => {
            // `…,"result":null}` without its `null}`: never fails for `()`.
            let _ = write_result(out, id, &());
            out.truncate(out.len() - b"null}".len());
        }
    }
}

/// Writes an error response with a `null` id on its own line.
pub(crate) fn reply_null(error: &ResponseError) {
    state::with(|shared| {
        write_error(&mut shared.out, None, error);
        shared.out.push(b'\n');
    });
}

/// The plugin, its method table and its tasks.
pub(crate) struct Server<P: Plugin> {
    plugin: &'static P,
    methods: Methods<P>,
    manifest: Rc<Manifest>,
    pub(crate) executor: Executor,
}

impl<P: Plugin> Server<P> {
    /// Creates the plugin and collects its methods.
    pub(crate) fn new(meta: &Meta) -> Self {
        let mut methods = Methods::new();
        P::methods(&mut methods);
        methods.seal();
        let manifest = Rc::new(Manifest {
            name: Some(meta.name.into()),
            version: Some(meta.version.into()),
            methods: methods.names().map(String::from).collect(),
            events: events(P::events(), methods.event_names()),
        });
        Server {
            plugin: Box::leak(Box::new(P::default())),
            methods,
            manifest,
            executor: Executor::new(),
        }
    }

    /// Handles one input line (without its `\n`), whose start `head` was read from
    /// when it is in the fixed wire form, and the attachment that came with it (which
    /// only the answer to a host call has).
    #[inline(always)]
    pub(crate) fn line<'a>(
        &mut self,
        mut line: &'a [u8],
        head: Option<FastHead<'a>>,
        attachment: Option<&[u8]>,
    ) {
        // The host writes in one fixed form: skip the full parse for it. A line in that
        // form has nothing to trim, so trimming waits until it is needed.
        let mut fast = head.and_then(|head| head.finish(line));
        if fast.is_none() {
            line = line.trim_ascii();
            if line.is_empty() {
                return;
            }
            fast = fast_parse(line);
        }
        match fast {
            Some(Fast::Result { id, result }) => {
                if !state::answer(id, Ok(result), attachment) {
                    log::warn!("ignored a response to unknown request id {id}");
                }
                return;
            }
            _ if attachment.is_some() => {
                log::warn!("dropped an attachment that came with something other than a result");
            }
            Some(Fast::Message(Message::Request(request))) => {
                return self.request(request, ReplyTo::Single);
            }
            Some(Fast::Message(message)) => return self.entry(Ok(message), || ReplyTo::Single),
            None => {}
        }
        match parse_frame(line) {
            Err(error) => reply_null(&error),
            Ok(Frame::Single(entry)) => self.entry(entry, || ReplyTo::Single),
            Ok(Frame::Batch(entries)) => {
                let batch = Rc::new(RefCell::new(BatchReply {
                    parts: vec![None; entries.len()],
                    pending: 1,
                }));
                for (index, entry) in entries.into_iter().enumerate() {
                    self.entry(entry, || BatchReply::slot(&batch, index));
                }
                batch.borrow_mut().done();
            }
        }
    }

    fn entry(&mut self, entry: Entry<'_>, to: impl FnOnce() -> ReplyTo) {
        match entry {
            Err(invalid) => {
                to().send(|out, _| write_error(out, invalid.id.as_ref(), &invalid.error))
            }
            Ok(Message::Request(request)) => self.request(request, to()),
            Ok(Message::Notification(notification)) => self.notification(notification),
            Ok(Message::Response(response)) => match response.id {
                Some(RequestId::Number(id)) => {
                    let result = response.result.map(|raw| raw.get().as_bytes());
                    if !state::answer(id, result, None) {
                        log::warn!("ignored a response to unknown request id {id}");
                    }
                }
                Some(RequestId::String(_)) => {
                    log::warn!("ignored a response with a string id (the mod sends numbers)");
                }
                None => match response.result {
                    Err(error) => log::error!("the host rejected a message: {error}"),
                    Ok(_) => log::warn!("ignored a response with a null id"),
                },
            },
        }
    }

    fn spawn(&mut self, task: Task) {
        self.executor.spawn(task);
    }

    fn request(&mut self, request: Request<'_>, to: ReplyTo) {
        let Request { id, method, params } = request;
        let reply = Responder { id, to };
        match self.methods.get(&method) {
            Some(handler) => handler(
                self.plugin,
                Params::new(&method, params),
                reply,
                &mut self.executor,
            ),
            None => self.unlisted_request(&method, params, reply),
        }
    }

    /// A request for a built-in method or one not in [`Methods`] (kept out of the path of
    /// listed methods, which is the one that must be quick).
    #[inline(never)]
    fn unlisted_request(&mut self, method: &str, params: Option<&RawValue>, reply: Responder) {
        let plugin = self.plugin;
        match method {
            INIT => match Params::new(INIT, params).parse::<Option<Init>>() {
                Ok(init) => {
                    let manifest = self.manifest.clone();
                    self.spawn(Box::pin(async move {
                        match plugin.init(init.unwrap_or_default()).await {
                            Ok(()) => reply.result(&*manifest),
                            Err(error) => reply.error(error.as_response_error()),
                        }
                    }));
                }
                Err(error) => reply.error(error.as_response_error()),
            },
            SHUTDOWN => self.spawn(Box::pin(async move {
                let outcome = plugin.shutdown().await;
                reply.finish(outcome.map(|state| ShutdownResult {
                    state: state.map(|state| Cow::Owned(state.into_raw())),
                }));
            })),
            _ => {
                let method: Box<str> = method.into();
                let params = params.map(ToOwned::to_owned);
                self.spawn(Box::pin(async move {
                    let params = Params::new(&method, params.as_deref());
                    let outcome = plugin.handle(&method, params).await;
                    reply.finish(outcome);
                }));
            }
        }
    }

    fn notification(&mut self, notification: Notification<'_>) {
        let plugin = self.plugin;
        if let Some(handler) = self.methods.event(&notification.method) {
            let params = Params::new(&notification.method, notification.params);
            return handler(plugin, params, &mut self.executor);
        }
        // The task owns the method and params. An event the plugin lists is named by its
        // own `'static` string, and the task is boxed in the memory of a finished one
        // (`Executor::start`): a notification without params then allocates nothing.
        let method: Cow<'static, str> = match P::events()
            .iter()
            .find(|event| same_bytes(event.as_bytes(), notification.method.as_bytes()))
        {
            Some(event) => Cow::Borrowed(event),
            None => Cow::Owned(notification.method.into_owned()),
        };
        let params = notification.params.map(ToOwned::to_owned);
        self.executor.start(async move {
            plugin
                .notification(&method, Params::new(&method, params.as_deref()))
                .await;
        });
    }
}

/// The manifest's events: `listed` (from [`Plugin::events`]), then the `handled` ones
/// not listed already.
fn events<'a>(listed: &[&str], handled: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut events: Vec<String> = listed.iter().map(|&event| event.into()).collect();
    for event in handled {
        if !events.iter().any(|e| e == event) {
            events.push(event.into());
        }
    }
    events
}

/// The response to a line over the size cap.
pub(crate) fn too_large(max: usize) -> ResponseError {
    ResponseError::new(
        ErrorCode::MessageTooLarge,
        format!("Message too large: a line was longer than {max} bytes"),
    )
}
