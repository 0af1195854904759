//! A tiny single-threaded executor: a slab of boxed tasks and a queue of the ones that
//! were woken.
//!
//! Each slot keeps its [`Waker`] for good, so spawning a task allocates only its box.
//! A waker that outlives its task may wake the slot's next task; futures are written to
//! tolerate such spurious polls.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Wake, Waker};

/// A spawned future.
pub type Task = Pin<Box<dyn Future<Output = ()>>>;

thread_local! {
    /// Indices of the slots whose task was woken.
    static READY: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// The waker of one slot.
struct SlotWaker {
    index: usize,
    /// Whether the slot is already in [`READY`] (so it is queued once).
    queued: AtomicBool,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::Relaxed) {
            READY.with(|ready| ready.borrow_mut().push(self.index));
        }
    }
}

struct Slot {
    task: Option<Task>,
    flag: Arc<SlotWaker>,
    waker: Waker,
}

/// The task slab.
pub(crate) struct Executor {
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// The queue being worked through (swapped with [`READY`]).
    batch: Vec<usize>,
    live: usize,
}

impl Executor {
    /// An empty executor; clears wake-ups left over on this thread.
    pub(crate) fn new() -> Self {
        READY.with(|ready| ready.borrow_mut().clear());
        Executor {
            slots: Vec::new(),
            free: Vec::new(),
            batch: Vec::new(),
            live: 0,
        }
    }

    /// Adds a task and polls it once at once: a handler that needs nothing from the host
    /// finishes here without going through the ready queue. A task that is not done
    /// waits for its waker like any other.
    pub(crate) fn spawn(&mut self, mut task: Task) {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = self.slots.len();
                let flag = Arc::new(SlotWaker {
                    index,
                    queued: AtomicBool::new(false),
                });
                let waker = Waker::from(flag.clone());
                self.slots.push(Slot {
                    task: None,
                    flag,
                    waker,
                });
                index
            }
        };
        let slot = &mut self.slots[index];
        let mut cx = Context::from_waker(&slot.waker);
        if task.as_mut().poll(&mut cx).is_ready() {
            self.free.push(index);
            return;
        }
        slot.task = Some(task);
        self.live += 1;
    }

    /// Polls woken tasks, in the order they were woken, until none is left.
    pub(crate) fn run(&mut self) {
        loop {
            READY.with(|ready| std::mem::swap(&mut *ready.borrow_mut(), &mut self.batch));
            if self.batch.is_empty() {
                return;
            }
            for i in 0..self.batch.len() {
                let index = self.batch[i];
                let slot = &mut self.slots[index];
                slot.flag.queued.store(false, Ordering::Relaxed);
                let Some(task) = slot.task.as_mut() else {
                    continue;
                };
                let mut cx = Context::from_waker(&slot.waker);
                if task.as_mut().poll(&mut cx).is_ready() {
                    slot.task = None;
                    self.free.push(index);
                    self.live -= 1;
                }
            }
            self.batch.clear();
        }
    }

    /// How many tasks have not finished.
    pub(crate) fn live(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::task::Poll;

    /// A future that is pending until `gate` is set, recording each poll.
    fn gated(
        gate: Rc<Cell<Option<Waker>>>,
        open: Rc<Cell<bool>>,
        log: Rc<RefCell<Vec<&'static str>>>,
        name: &'static str,
    ) -> Task {
        Box::pin(std::future::poll_fn(move |cx| {
            log.borrow_mut().push(name);
            if open.get() {
                Poll::Ready(())
            } else {
                gate.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        }))
    }

    #[test]
    fn runs_until_idle_and_resumes_on_wake() {
        let mut executor = Executor::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let gate = Rc::new(Cell::new(None));
        let open = Rc::new(Cell::new(false));
        executor.spawn(gated(gate.clone(), open.clone(), log.clone(), "a"));
        let l = log.clone();
        executor.spawn(Box::pin(async move { l.borrow_mut().push("b") }));
        executor.run();
        assert_eq!(*log.borrow(), ["a", "b"]);
        assert_eq!(executor.live(), 1);

        // Nothing woken: nothing polled.
        executor.run();
        assert_eq!(log.borrow().len(), 2);

        open.set(true);
        let waker = gate.take().unwrap();
        waker.wake_by_ref();
        waker.wake_by_ref(); // queued once
        executor.run();
        assert_eq!(*log.borrow(), ["a", "b", "a"]);
        assert_eq!(executor.live(), 0);

        // Slots are reused; a stale waker only causes a harmless extra poll.
        let l = log.clone();
        executor.spawn(Box::pin(async move { l.borrow_mut().push("c") }));
        waker.wake();
        executor.run();
        assert_eq!(*log.borrow(), ["a", "b", "a", "c"]);
        assert_eq!(executor.slots.len(), 2);
    }

    #[test]
    fn wakes_during_a_poll_are_run_in_the_same_call() {
        let mut executor = Executor::new();
        let count = Rc::new(Cell::new(0));
        let c = count.clone();
        executor.spawn(Box::pin(std::future::poll_fn(move |cx| {
            c.set(c.get() + 1);
            if c.get() < 3 {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })));
        executor.run();
        assert_eq!(count.get(), 3);
        assert_eq!(executor.live(), 0);
    }
}
