//! The spawned form: [`TaskGroup`].

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::bulkhead::Bulkhead;
use crate::{ConfigError, JoinError, Spawn, TaskHandle};

/// A group of tasks spawned through [`Spawn`], all tracked: [`join`](TaskGroup::join) returns
/// every outcome in spawn order, and dropping the group aborts what still runs. See the
/// [module docs](super).
///
/// ```
/// use steadfast_tokio::{TokioSpawner, task_group::TaskGroup};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut group = TaskGroup::builder(TokioSpawner::current())
///     .limit(2)
///     .cancel_on_error()
///     .build()?;
/// for n in 0..3u32 {
///     group.spawn(async move { if n < 5 { Ok(n * 10) } else { Err(n) } });
/// }
/// let mut values = Vec::new();
/// for outcome in group.join().await {
///     values.push(outcome?.map_err(|n| format!("task {n} failed"))?);
/// }
/// assert_eq!(values, [0, 10, 20]);
/// # Ok(())
/// # }
/// ```
pub struct TaskGroup<S: Spawn, T: Send + 'static> {
    spawner: S,
    tasks: Vec<S::Handle<T>>,
    limit: Option<Arc<Bulkhead>>,
    cancel_when: Option<fn(&T) -> bool>,
}

impl<S: Spawn, T: Send + 'static> fmt::Debug for TaskGroup<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("tasks", &self.tasks.len())
            .field("limit", &self.limit.as_ref().map(|b| b.max_concurrent()))
            .field("cancels_on_failure", &self.cancel_when.is_some())
            .finish_non_exhaustive()
    }
}

/// The largest limit: a bulkhead counts its permits in half the range of `usize`.
const MAX_LIMIT: usize = usize::MAX / 2;

impl<S: Spawn, T: Send + 'static> TaskGroup<S, T> {
    /// An empty group whose tasks are spawned with `spawner`; no limit, no cancelling. See
    /// [`builder`](TaskGroup::builder) for those.
    #[must_use]
    pub fn new(spawner: S) -> Self {
        TaskGroup {
            spawner,
            tasks: Vec::new(),
            limit: None,
            cancel_when: None,
        }
    }

    /// Starts a group's settings; [`build`](TaskGroupBuilder::build) checks them.
    pub const fn builder(spawner: S) -> TaskGroupBuilder<S, T> {
        TaskGroupBuilder {
            spawner,
            limit: None,
            cancel_when: None,
        }
    }

    /// Spawns `task` as part of the group and returns its index in the outcomes of
    /// [`join`](TaskGroup::join).
    pub fn spawn<F>(&mut self, task: F) -> usize
    where
        F: Future<Output = T> + Send + 'static,
    {
        let handle = match &self.limit {
            None => self.spawner.spawn(task),
            Some(bulkhead) => {
                let permit = bulkhead.acquire_owned();
                self.spawner.spawn(async move {
                    // The bulkhead is never closed: the permit always comes.
                    let _permit = permit.await;
                    task.await
                })
            }
        };
        self.tasks.push(handle);
        self.tasks.len() - 1
    }

    /// How many tasks were spawned.
    #[must_use]
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no task was spawned.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Aborts every task that has not finished. [`join`](TaskGroup::join) still reports each
    /// one: cancelled, or its value if it finished first.
    pub fn abort_all(&mut self) {
        for task in &mut self.tasks {
            if !task.is_finished() {
                task.abort();
            }
        }
    }

    /// Waits for every task and returns the outcomes in spawn order: the value, or why there
    /// is none ([`JoinError::Panicked`] with the panic's message, [`JoinError::Cancelled`]).
    /// Dropping the returned future aborts the tasks still running.
    pub fn join(mut self) -> Join<S, T> {
        let tasks = core::mem::take(&mut self.tasks);
        let outcomes = tasks.iter().map(|_| None).collect();
        Join {
            tasks: tasks.into_iter().map(Some).collect(),
            outcomes,
            cancel_when: self.cancel_when,
            cancelled: false,
            done: false,
        }
    }
}

/// A [`TaskGroup`]'s settings, from [`TaskGroup::builder`]: a concurrency limit and
/// cancel-on-failure, checked by [`build`](TaskGroupBuilder::build).
#[must_use = "the settings do nothing until built"]
pub struct TaskGroupBuilder<S, T> {
    spawner: S,
    limit: Option<usize>,
    cancel_when: Option<fn(&T) -> bool>,
}

impl<S: Spawn, T: Send + 'static> TaskGroupBuilder<S, T> {
    /// Lets at most `limit` tasks of the group run their future at once: a task beyond that
    /// waits for a permit (in the order the tasks first run, FIFO) before it starts its
    /// future. From 1 to `usize::MAX / 2` (the most a bulkhead counts); no limit by default.
    pub const fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Makes [`join`](TaskGroup::join) cancel every other task as soon as one panics or
    /// finishes with an output for which `is_failure` is true. Use `|_| false` to cancel on
    /// panics only.
    pub const fn cancel_when(mut self, is_failure: fn(&T) -> bool) -> Self {
        self.cancel_when = Some(is_failure);
        self
    }

    /// The group, or a [`ConfigError`] naming the bad setting: a `limit` of 0, or above
    /// `usize::MAX / 2`.
    pub fn build(self) -> Result<TaskGroup<S, T>, ConfigError> {
        let limit = match self.limit {
            None => None,
            Some(0) => {
                return Err(ConfigError::new(
                    "task group",
                    "limit",
                    "must be at least 1",
                ));
            }
            Some(n) if n > MAX_LIMIT => {
                return Err(ConfigError::new(
                    "task group",
                    "limit",
                    "must be at most usize::MAX / 2",
                ));
            }
            Some(n) => Some(Arc::new(Bulkhead::builder(n).build()?)),
        };
        Ok(TaskGroup {
            spawner: self.spawner,
            tasks: Vec::new(),
            limit,
            cancel_when: self.cancel_when,
        })
    }
}

impl<S: Spawn, U: Send + 'static, E: Send + 'static> TaskGroupBuilder<S, Result<U, E>> {
    /// [`cancel_when`](TaskGroupBuilder::cancel_when) for tasks that return `Result`: the
    /// first `Err` or panic cancels the others.
    pub const fn cancel_on_error(self) -> Self {
        self.cancel_when(Result::is_err)
    }
}

impl<S: Spawn, T> fmt::Debug for TaskGroupBuilder<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupBuilder")
            .field("limit", &self.limit)
            .field("cancels_on_failure", &self.cancel_when.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Spawn, T: Send + 'static> Drop for TaskGroup<S, T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

/// The future returned by [`TaskGroup::join`]. Dropping it aborts the tasks still running.
#[must_use = "futures do nothing unless awaited; dropping this one aborts the group's tasks"]
pub struct Join<S: Spawn, T: Send + 'static> {
    tasks: Vec<Option<S::Handle<T>>>,
    outcomes: Vec<Option<Result<T, JoinError>>>,
    cancel_when: Option<fn(&T) -> bool>,
    cancelled: bool,
    done: bool,
}

// Nothing in a `Join` is pinned: task handles are `Unpin` and outcomes are only moved.
impl<S: Spawn, T: Send + 'static> Unpin for Join<S, T> {}

impl<S: Spawn, T: Send + 'static> fmt::Debug for Join<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("tasks", &self.tasks.len())
            .field("running", &self.tasks.iter().flatten().count())
            .field("cancelled", &self.cancelled)
            .finish()
    }
}

impl<S: Spawn, T: Send + 'static> Future for Join<S, T> {
    type Output = Vec<Result<T, JoinError>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "`Join` polled after completion");
        let mut pending = false;
        for i in 0..this.tasks.len() {
            let Some(task) = this.tasks[i].as_mut() else {
                continue;
            };
            match Pin::new(task).poll(cx) {
                Poll::Pending => pending = true,
                Poll::Ready(outcome) => {
                    this.tasks[i] = None;
                    let failed = match (&outcome, this.cancel_when) {
                        (_, None) => false,
                        (Err(JoinError::Cancelled), Some(_)) => false,
                        (Err(_), Some(_)) => true,
                        (Ok(value), Some(is_failure)) => is_failure(value),
                    };
                    this.outcomes[i] = Some(outcome);
                    if failed && !this.cancelled {
                        this.cancelled = true;
                        for task in this.tasks.iter_mut().flatten() {
                            task.abort();
                        }
                        // The aborted tasks report back; poll them again.
                        cx.waker().wake_by_ref();
                    }
                }
            }
        }
        if pending {
            return Poll::Pending;
        }
        this.done = true;
        Poll::Ready(
            this.outcomes
                .iter_mut()
                .map(|o| o.take().expect("every task has ended"))
                .collect(),
        )
    }
}

impl<S: Spawn, T: Send + 'static> Drop for Join<S, T> {
    fn drop(&mut self) {
        for task in self.tasks.iter_mut().flatten() {
            if !task.is_finished() {
                task.abort();
            }
        }
    }
}
