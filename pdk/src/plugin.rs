//! The [`Plugin`] trait a mod implements and [`Methods`], its typed method table.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::runtime::{Executor, Responder, same_bytes};
use crate::{Error, Init, Json, Params};

/// A mod: its state, the methods it serves and how it reacts to the host.
///
/// Every item has a default, so the smallest mod is a type, an empty `impl` and
/// [`register_plugin!`](crate::register_plugin). The PDK creates the plugin once with
/// [`Default`] and keeps it for the life of the program, which is why handlers take
/// `&'static self` (their futures may outlive any borrow). Keep mutable state in a
/// [`State`](crate::State), borrowed `&mut` inside a synchronous closure, so no borrow
/// is held across an `.await` while other requests run.
///
/// Requests are answered like this:
///
/// - `plugin.init` and `plugin.shutdown` are built in; they call [`Plugin::init`] and
///   [`Plugin::shutdown`].
/// - A method added in [`Plugin::methods`] gets its typed params and returns its
///   typed result.
/// - Any other method goes to [`Plugin::handle`] (by default: `-32601 Method not found:
///   <name>`).
///
/// Notifications from the host (such as the events listed in [`Plugin::events`]) go to
/// [`Plugin::notification`].
///
/// ```no_run
/// use bevy_wasmi_plugins_pdk::prelude::*;
/// use serde::Deserialize;
///
/// #[derive(Default)]
/// struct Counter {
///     total: State<i64>,
/// }
///
/// #[derive(Deserialize)]
/// struct AddParams {
///     a: i64,
///     b: i64,
/// }
///
/// impl Plugin for Counter {
///     fn methods(methods: &mut Methods<Self>) {
///         methods
///             .add("add", Self::add)
///             .add("total", |this: &'static Self| async move { Ok(this.total.with(|t| *t)) });
///     }
/// }
///
/// impl Counter {
///     async fn add(&'static self, p: AddParams) -> Result<i64, Error> {
///         // Ask the game, wait for its answer (other requests are served meanwhile).
///         let doubled: i64 = host::call("game.double", &[p.a]).await?;
///         host::notify("counter.added", &[p.b])?;
///         log::info!("adding {}", p.b);
///         Ok(self.total.with(|total| {
///             *total += doubled + p.b;
///             doubled + p.b
///         }))
///     }
/// }
///
/// register_plugin!(Counter);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a bevy_wasmi_plugins_pdk plugin",
    label = "`register_plugin!` needs a type that implements `Plugin`",
    note = "add `impl bevy_wasmi_plugins_pdk::Plugin for {Self} {{}}` (every item has a default) and derive or implement `Default` for it"
)]
#[allow(
    async_fn_in_trait,
    reason = "a mod is single-threaded: futures need not be Send"
)]
pub trait Plugin: Default + 'static {
    /// Adds the methods this mod serves; their names are listed in the manifest
    /// `plugin.init` returns. Default: none.
    fn methods(methods: &mut Methods<Self>) {
        let _ = methods;
    }

    /// Events (host notifications) this mod wants beside those it handles with
    /// [`Methods::on`], listed in its manifest so the host sends them; they go to
    /// [`Plugin::notification`]. Default: none.
    ///
    /// Typed handlers ([`Methods::on`] with an [`Event`]) are the better way: they list
    /// their event themselves and get typed params. This stays for mods that take events
    /// they have no type for.
    fn events() -> &'static [&'static str] {
        &[]
    }

    /// Called for `plugin.init`, the host's first request, with the mod's configuration
    /// and any state carried over from a previous instance. Default: does nothing.
    ///
    /// # Errors
    ///
    /// An error fails `plugin.init`; the host then treats the mod as not started.
    async fn init(&'static self, init: Init) -> Result<(), Error> {
        let _ = init;
        Ok(())
    }

    /// Answers requests for methods not added in [`Plugin::methods`].
    ///
    /// # Errors
    ///
    /// The error becomes the response's `error` object. Default:
    /// `-32601 Method not found: <method>`.
    async fn handle(&'static self, method: &str, params: Params<'_>) -> Result<Json, Error> {
        let _ = params;
        Err(Error::method_not_found(method))
    }

    /// Receives a notification from the host (an event not handled with
    /// [`Methods::on`], or any other message without an id). Default: ignores it.
    async fn notification(&'static self, method: &str, params: Params<'_>) {
        let _ = (method, params);
    }

    /// Called for `plugin.shutdown`, before the host unloads or reloads the mod. The
    /// state returned here is handed to the next instance's [`Plugin::init`] (hot
    /// reload). Default: no state.
    ///
    /// # Errors
    ///
    /// An error is sent back to the host; the mod is unloaded anyway.
    async fn shutdown(&'static self) -> Result<Option<Json>, Error> {
        Ok(None)
    }
}

/// A request handler: an async function or closure taking the plugin and, optionally,
/// the typed params, and returning `Result<R, Error>` where `R: Serialize + 'static`.
///
/// Implemented for
///
/// - `Fn(&'static P) -> impl Future<Output = Result<R, Error>>` (params ignored), and
/// - `Fn(&'static P, T) -> impl Future<Output = Result<R, Error>>` where
///   `T: DeserializeOwned` (absent params deserialize from `null`, so `T = ()` and
///   `T = Option<_>` accept them; params that do not match get `-32602`).
///
/// Both forms cover `async fn name(&'static self, …)` methods and closures such as
/// `|this: &'static Self, (a, b): (i64, i64)| async move { Ok(a + b) }` (annotate the
/// closure's arguments). The marker type `M` only tells the two forms apart.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a method handler for `{P}`",
    label = "not an async handler of the right shape",
    note = "a handler is an `async fn(&'static self)` or `async fn(&'static self, params: T)` with `T: DeserializeOwned`, returning `Result<R, Error>` with `R: Serialize + 'static` (owned data)",
    note = "closures need their argument types written out: `|this: &'static Self, (a, b): (i64, i64)| async move {{ Ok(a + b) }}`"
)]
pub trait Handler<P, M>: 'static {
    #[doc(hidden)]
    fn start(
        &self,
        plugin: &'static P,
        params: Params<'_>,
        reply: Responder,
        executor: &mut Executor,
    );
}

impl<P, F, Fut, R> Handler<P, ()> for F
where
    P: 'static,
    F: Fn(&'static P) -> Fut + 'static,
    Fut: Future<Output = Result<R, Error>> + 'static,
    R: Serialize + 'static,
{
    fn start(
        &self,
        plugin: &'static P,
        _params: Params<'_>,
        reply: Responder,
        executor: &mut Executor,
    ) {
        let future = self(plugin);
        executor.start(async move { reply.finish(future.await) });
    }
}

impl<P, F, Fut, T, R> Handler<P, (T,)> for F
where
    P: 'static,
    F: Fn(&'static P, T) -> Fut + 'static,
    Fut: Future<Output = Result<R, Error>> + 'static,
    T: DeserializeOwned,
    R: Serialize + 'static,
{
    fn start(
        &self,
        plugin: &'static P,
        params: Params<'_>,
        reply: Responder,
        executor: &mut Executor,
    ) {
        match params.parse::<T>() {
            Ok(params) => {
                let future = self(plugin, params);
                executor.start(async move { reply.finish(future.await) });
            }
            Err(error) => reply.error(error.as_response_error()),
        }
    }
}

/// An event the game sends its mods (a notification from the host), typed: its name and
/// its params. A game publishes these in its mod-API crate; a mod handles one with
/// [`Methods::on`], which also asks the host for it (the manifest's `events`).
///
/// ```
/// use bevy_wasmi_plugins_pdk::prelude::*;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// pub struct Tick {
///     pub frame: u64,
///     pub dt: f32,
/// }
///
/// impl Event for Tick {
///     const NAME: &'static str = "game.tick";
/// }
/// ```
pub trait Event: DeserializeOwned + 'static {
    /// The notification's method name, e.g. `"game.tick"`.
    const NAME: &'static str;
}

/// What an event handler may return: `()`, or `Result<(), Error>` (an error is logged as
/// a warning naming the event).
pub trait EventOutcome: 'static {
    /// Logs a failure.
    fn report(self, event: &'static str);
}

impl EventOutcome for () {
    fn report(self, _: &'static str) {}
}

impl EventOutcome for Result<(), Error> {
    fn report(self, event: &'static str) {
        if let Err(error) = self {
            log::warn!("handling {event} failed: {error}");
        }
    }
}

/// An event handler: `async fn name(&'static self, event: E)` (or a closure of that
/// shape) returning `()` or `Result<(), Error>`; see [`Methods::on`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event handler for `{E}` on `{P}`",
    label = "not an async event handler of the right shape",
    note = "an event handler is an `async fn(&'static self, event: E)` returning `()` or `Result<(), Error>`"
)]
pub trait EventHandler<P, E>: 'static {
    #[doc(hidden)]
    fn start(&self, plugin: &'static P, event: E, executor: &mut Executor);
}

impl<P, E, F, Fut> EventHandler<P, E> for F
where
    P: 'static,
    E: Event,
    F: Fn(&'static P, E) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: EventOutcome,
{
    fn start(&self, plugin: &'static P, event: E, executor: &mut Executor) {
        let future = self(plugin, event);
        executor.start(async move { future.await.report(E::NAME) });
    }
}

/// A type-erased handler.
type Erased<P> = Box<dyn Fn(&'static P, Params<'_>, Responder, &mut Executor)>;

/// A type-erased event handler.
type ErasedEvent<P> = Box<dyn Fn(&'static P, Params<'_>, &mut Executor)>;

/// The methods a [`Plugin`] serves, each with a typed handler, and the events it
/// handles; filled in by [`Plugin::methods`].
pub struct Methods<P: 'static> {
    /// Sorted by name once registration is over.
    entries: Vec<(&'static str, Erased<P>)>,
    /// Event handlers, by event name, in the order they were added.
    events: Vec<(&'static str, ErasedEvent<P>)>,
}

impl<P: 'static> Methods<P> {
    pub(crate) fn new() -> Self {
        Methods {
            entries: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Handles event `E` with `handler`, and asks the host for the event (its name goes
    /// into the manifest's `events`, after those of [`Plugin::events`]).
    ///
    /// The event's params are deserialized as `E`; params that do not fit are logged as
    /// a warning and the handler is not called. Each event runs as its own task, like a
    /// request. Handled events do not reach [`Plugin::notification`]. Adding an event
    /// twice replaces the first handler.
    ///
    /// ```no_run
    /// use bevy_wasmi_plugins_pdk::prelude::*;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Tick { frame: u64 }
    /// impl Event for Tick { const NAME: &'static str = "game.tick"; }
    ///
    /// #[derive(Default)]
    /// struct Ticker { ticks: State<u64> }
    ///
    /// impl Plugin for Ticker {
    ///     fn methods(methods: &mut Methods<Self>) {
    ///         methods.on::<Tick>(Self::tick);
    ///     }
    /// }
    ///
    /// impl Ticker {
    ///     async fn tick(&'static self, tick: Tick) {
    ///         self.ticks.with(|t| *t = tick.frame);
    ///     }
    /// }
    /// # register_plugin!(Ticker);
    /// ```
    pub fn on<E: Event>(&mut self, handler: impl EventHandler<P, E>) -> &mut Self {
        let erased: ErasedEvent<P> =
            Box::new(move |plugin, params, executor| match params.parse::<E>() {
                Ok(event) => handler.start(plugin, event, executor),
                Err(error) => log::warn!("ignored event {}: {}", E::NAME, error.message()),
            });
        match self.events.iter_mut().find(|(n, _)| *n == E::NAME) {
            Some(entry) => entry.1 = erased,
            None => self.events.push((E::NAME, erased)),
        }
        self
    }

    /// The events handled with [`Methods::on`], in the order they were added.
    pub fn event_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.events.iter().map(|(n, _)| *n)
    }

    /// The handler of event `name`.
    pub(crate) fn event(&self, name: &str) -> Option<&ErasedEvent<P>> {
        self.events
            .iter()
            .find(|(n, _)| same_bytes(n.as_bytes(), name.as_bytes()))
            .map(|(_, handler)| handler)
    }

    /// Adds method `name`, served by `handler` (see [`Handler`] for what it may be).
    ///
    /// Adding a name twice replaces the first handler. The built-in `plugin.init` and
    /// `plugin.shutdown` cannot be replaced (a warning is logged).
    pub fn add<M, H: Handler<P, M>>(&mut self, name: &'static str, handler: H) -> &mut Self {
        if crate::runtime::is_builtin(name) {
            log::warn!("method {name} is built into the PDK and cannot be replaced");
            return self;
        }
        let erased: Erased<P> = Box::new(move |plugin, params, reply, executor| {
            handler.start(plugin, params, reply, executor);
        });
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = erased,
            None => self.entries.push((name, erased)),
        }
        self
    }

    /// Whether `name` has been added.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|(n, _)| *n == name)
    }

    /// The names added so far, in the order they were added (sorted once the mod runs).
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.iter().map(|(n, _)| *n)
    }

    /// Sorts the table for lookups.
    pub(crate) fn seal(&mut self) {
        self.entries.sort_unstable_by_key(|(n, _)| *n);
    }

    /// The handler of `name` (after [`Methods::seal`]).
    pub(crate) fn get(&self, name: &str) -> Option<&Erased<P>> {
        if self.entries.len() > 16 {
            return self
                .entries
                .binary_search_by_key(&name, |(n, _)| *n)
                .ok()
                .map(|i| &self.entries[i].1);
        }
        // A few methods: compare lengths, then 8 bytes at a time, which on wasm is cheaper
        // than the ordered `memcmp`-based comparisons of a binary search.
        self.entries
            .iter()
            .find(|(n, _)| same_bytes(n.as_bytes(), name.as_bytes()))
            .map(|(_, handler)| handler)
    }
}
