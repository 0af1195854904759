//! A tiny single-threaded executor: a slab of boxed tasks and a queue of the ones that
//! were woken.
//!
//! Each slot keeps its [`Waker`] for good, and the memory of finished tasks is kept for
//! the next task of the same size ([`boxed`]), so answering a request usually allocates
//! nothing. A waker that outlives its task may wake the slot's next task; futures are
//! written to tolerate such spurious polls.

use std::alloc::Layout;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Wake, Waker};

/// A spawned future.
pub type Task = Pin<Box<dyn Future<Output = ()>>>;

thread_local! {
    /// Indices of the slots whose task was woken.
    static READY: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };

    /// Memory of finished tasks, for the next tasks of the same layout.
    static SPARE: RefCell<Spare> = const { RefCell::new(Spare([None; SPARE_BLOCKS])) };
}

/// How many blocks of finished tasks' memory are kept.
const SPARE_BLOCKS: usize = 4;

/// Blocks from the global allocator, each with the layout it was allocated with.
struct Spare([Option<(NonNull<u8>, Layout)>; SPARE_BLOCKS]);

impl Drop for Spare {
    fn drop(&mut self) {
        for (ptr, layout) in self.0.iter_mut().filter_map(Option::take) {
            // SAFETY: `ptr` was allocated by the global allocator with `layout` and is
            // owned by this cache alone.
            unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) };
        }
    }
}

/// Boxes `future` as a [`Task`] with [`boxed_typed`].
#[cfg(test)]
fn boxed<F: Future<Output = ()> + 'static>(future: F) -> Task {
    boxed_typed(future)
}

/// Boxes `future` in the memory of a finished task of the same layout when there is one
/// (a request answered at once then costs no allocation: on wasm, an allocation and its
/// release cost about as much as parsing the request).
#[inline(always)]
fn boxed_typed<F: Future<Output = ()> + 'static>(future: F) -> Pin<Box<F>> {
    let layout = Layout::new::<F>();
    if layout.size() == 0 {
        return Box::pin(future);
    }
    let spare = take_spare(layout);
    match spare {
        Some(ptr) => {
            let ptr = ptr.as_ptr().cast::<F>();
            // SAFETY: `ptr` was allocated by the global allocator with `Layout::new::<F>()`
            // (the layouts match) and nothing else uses it. Writing `future` initializes
            // it, which makes it a valid `Box<F>`.
            unsafe {
                ptr.write(future);
                Box::into_pin(Box::from_raw(ptr))
            }
        }
        None => Box::pin(future),
    }
}

/// A kept block with `layout`, if there is one (not generic, so that [`boxed_typed`] stays
/// small in each handler's code).
#[inline(never)]
fn take_spare(layout: Layout) -> Option<NonNull<u8>> {
    SPARE
        .try_with(|spare| {
            let mut spare = spare.try_borrow_mut().ok()?;
            let block = spare
                .0
                .iter_mut()
                .find(|block| matches!(block, Some((_, l)) if *l == layout))?;
            block.take().map(|(ptr, _)| ptr)
        })
        .ok()
        .flatten()
}

/// Drops a task and keeps its memory for [`boxed_typed`].
fn recycle(task: Task) {
    let layout = Layout::for_value::<dyn Future<Output = ()>>(&*task);
    // SAFETY: the future is dropped where it is and its memory is then only reused for a
    // new value, so it is never moved, as `Pin` requires.
    let raw = Box::into_raw(unsafe { Pin::into_inner_unchecked(task) });
    // SAFETY: `raw` comes from a live box, and is dropped once.
    unsafe { std::ptr::drop_in_place(raw) };
    keep_spare(raw.cast::<u8>(), layout);
}

/// [`recycle`] for a future of a known type (its drop is a direct call, or none).
#[inline(always)]
fn recycle_typed<F: Future<Output = ()> + 'static>(task: Pin<Box<F>>) {
    // SAFETY: as in `recycle`.
    let raw = Box::into_raw(unsafe { Pin::into_inner_unchecked(task) });
    // SAFETY: `raw` comes from a live box, and is dropped once.
    unsafe { std::ptr::drop_in_place(raw) };
    keep_spare(raw.cast::<u8>(), Layout::new::<F>());
}

/// Keeps the memory at `ptr`, allocated with `layout` and no longer used, for
/// [`boxed_typed`].
#[inline(always)]
fn keep_spare(ptr: *mut u8, layout: Layout) {
    let Some(ptr) = NonNull::new(ptr).filter(|_| layout.size() > 0) else {
        return; // a zero-sized future owns no memory
    };
    // A full cache gives up its first block; no cache (thread teardown) gives up this one.
    let evicted = SPARE
        .try_with(|spare| {
            let Ok(mut spare) = spare.try_borrow_mut() else {
                return Some((ptr, layout));
            };
            match spare.0.iter_mut().find(|block| block.is_none()) {
                Some(block) => {
                    *block = Some((ptr, layout));
                    None
                }
                None => spare.0[0].replace((ptr, layout)),
            }
        })
        .unwrap_or(Some((ptr, layout)));
    if let Some((ptr, layout)) = evicted {
        // SAFETY: the block was allocated by the global allocator with `layout` (a boxed
        // value's `Layout::for_value`) and is no longer used.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) };
    }
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

/// The task slab: the mod's requests and notifications run here, each as a task.
#[doc(hidden)]
pub struct Executor {
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
        match self.first_poll(task.as_mut()) {
            None => recycle(task),
            Some(index) => self.park(index, task),
        }
    }

    /// [`Executor::spawn`] for a future of a known type: boxed in reused memory and polled
    /// with direct calls (a request's handler starts this way).
    #[inline(always)]
    pub fn start<F: Future<Output = ()> + 'static>(&mut self, future: F) {
        let mut task = boxed_typed(future);
        match self.first_poll(task.as_mut()) {
            None => recycle_typed(task),
            Some(index) => self.park(index, task),
        }
    }

    /// Polls a new task once with the waker of a free slot; the slot's index when the
    /// task is not done (it goes there), `None` when it is.
    #[inline(always)]
    fn first_poll<F: Future<Output = ()> + ?Sized>(&mut self, task: Pin<&mut F>) -> Option<usize> {
        let index = self.free_slot();
        let mut cx = Context::from_waker(&self.slots[index].waker);
        if task.poll(&mut cx).is_ready() {
            self.free.push(index);
            return None;
        }
        Some(index)
    }

    /// Keeps a task that is not done in slot `index` until it is woken.
    fn park(&mut self, index: usize, task: Task) {
        self.slots[index].task = Some(task);
        self.live += 1;
    }

    /// A free slot's index (a new slot when none is free); the slot stays free until a
    /// task is put in it.
    #[inline(always)]
    fn free_slot(&mut self) -> usize {
        if let Some(index) = self.free.pop() {
            return index;
        }
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

    /// Polls woken tasks, in the order they were woken, until none is left.
    #[inline(always)]
    pub(crate) fn run(&mut self) {
        // Usually nothing was woken: look without a call.
        if READY.with(|ready| ready.borrow().is_empty()) {
            return;
        }
        self.run_woken();
    }

    #[inline(never)]
    fn run_woken(&mut self) {
        loop {
            // Usually nothing was woken: look before swapping the queues.
            let woken = READY.with(|ready| {
                let mut ready = ready.borrow_mut();
                if ready.is_empty() {
                    return false;
                }
                std::mem::swap(&mut *ready, &mut self.batch);
                true
            });
            if !woken {
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
                    if let Some(task) = slot.task.take() {
                        recycle(task);
                    }
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
    fn finished_tasks_memory_is_reused() {
        let mut executor = Executor::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let gate = Rc::new(Cell::new(None));
        let open = Rc::new(Cell::new(false));
        // One task that waits, while others of two sizes come and go.
        executor.spawn(boxed({
            let (gate, open, log) = (gate.clone(), open.clone(), log.clone());
            async move { gated(gate, open, log, "wait").await }
        }));
        let mut addresses = Vec::new();
        for i in 0..6u64 {
            let l = log.clone();
            let small = [i; 2];
            let big = [i; 40];
            let task = if i % 2 == 0 {
                boxed(async move {
                    l.borrow_mut()
                        .push(if small[1] % 2 == 0 { "small" } else { "?" })
                })
            } else {
                boxed(async move {
                    l.borrow_mut()
                        .push(if big[39] % 2 == 1 { "big" } else { "?" })
                })
            };
            addresses
                .push(std::ptr::from_ref::<dyn Future<Output = ()>>(&*task).cast::<u8>() as usize);
            executor.spawn(task);
        }
        assert_eq!(
            *log.borrow(),
            ["wait", "small", "big", "small", "big", "small", "big"]
        );
        // Each size reuses its block after the first.
        assert_eq!(addresses[0], addresses[2]);
        assert_eq!(addresses[1], addresses[3]);
        assert_eq!(addresses[2], addresses[4]);
        // The waiting task still runs (its memory was not taken).
        open.set(true);
        gate.take().unwrap().wake();
        executor.run();
        assert_eq!(log.borrow().last(), Some(&"wait"));
        assert_eq!(executor.live(), 0);
        // Zero-sized futures need no memory.
        executor.spawn(boxed(async {}));
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
