//! [`State`]: a mod's mutable state, reached through a closure.

use std::cell::RefCell;

/// A mod's mutable state, borrowed `&mut` for the length of a closure.
///
/// The closure is synchronous, so a borrow cannot be held across an `.await`: while a
/// handler waits for the host, other requests and events run and use the state too
/// (the PDK's concurrency stays as it is), and each sees it whole. Keep one `State`
/// of a plain struct instead of a `Cell` per field:
///
/// ```
/// use bevy_wasmi_plugins_pdk::State;
///
/// #[derive(Default)]
/// struct Score {
///     points: u64,
///     shown: Option<u64>,
/// }
///
/// let state = State::new(Score::default());
/// state.with(|s| s.points += 3);
/// let to_show = state.with(|s| (s.shown != Some(s.points)).then(|| {
///     s.shown = Some(s.points);
///     s.points
/// }));
/// assert_eq!(to_show, Some(3));
/// assert_eq!(state.with(|s| s.points), 3);
/// ```
#[derive(Default)]
pub struct State<T>(RefCell<T>);

impl<T> State<T> {
    /// State holding `value`.
    pub const fn new(value: T) -> Self {
        State(RefCell::new(value))
    }

    /// Runs `f` on the state and returns what it returns.
    ///
    /// # Panics
    ///
    /// When called from inside another `with` of the same state (the closure would have
    /// two `&mut` to it).
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        match self.0.try_borrow_mut() {
            Ok(mut state) => f(&mut state),
            Err(_) => panic!("State::with called inside State::with of the same state"),
        }
    }

    /// A copy of the state.
    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.with(|s| s.clone())
    }

    /// Replaces the state with `value`, returning the old one.
    pub fn replace(&self, value: T) -> T {
        self.with(|s| std::mem::replace(s, value))
    }

    /// Unwraps the state.
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for State<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.try_borrow() {
            Ok(state) => f.debug_tuple("State").field(&*state).finish(),
            Err(_) => f.write_str("State(<in use>)"),
        }
    }
}
