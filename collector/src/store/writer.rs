//! The single-writer machinery for embedded databases: a [`BatchWriter`]
//! (a plain connection, say) is owned by one thread, the [`Writer`], fed
//! through a bounded queue. A full queue answers "busy" at once (the HTTP
//! layer turns that into 503 + Retry-After, which the tag retries) instead of
//! letting requests pile up, and batches that arrive together share one
//! commit. [`Threaded`] makes any `BatchWriter` a [`Store`].

use super::{Accepted, Rejected, Store, StoreError, Stored};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// A database written by exactly one thread (the [`Writer`]'s), so an
/// implementation may hold a plain connection.
pub trait BatchWriter: Send + 'static {
    /// Stores the batches, each whole or not at all, and returns one [`Stored`]
    /// per batch, in order. Everything must be durable when this returns `Ok`:
    /// the caller then acknowledges the batches to the tag. A group is passed so
    /// that an implementation can share one commit (one fsync) among them; an
    /// event ID already stored (by an earlier call or earlier in the group)
    /// counts as a duplicate and is not stored again.
    fn store(&mut self, batches: &[Accepted]) -> anyhow::Result<Vec<Stored>>;

    /// Records refused bodies. Best effort: a failure is logged, not answered.
    fn reject(&mut self, rejected: &[Rejected]) -> anyhow::Result<()>;
}

/// Any [`BatchWriter`] as a [`Store`] that takes batches (and keeps no reports).
pub struct Threaded {
    writer: Writer,
}

impl Threaded {
    /// Starts the writer thread for `w`; `capacity` batches may be queued or being written at once.
    pub fn start(w: impl BatchWriter, capacity: usize) -> std::io::Result<Threaded> {
        Ok(Threaded { writer: Writer::start(w, capacity)? })
    }
}

#[async_trait::async_trait]
impl Store for Threaded {
    async fn store(&self, batch: Accepted) -> Result<Stored, StoreError> {
        self.writer.store(batch).await
    }
    fn reject(&self, rejected: Rejected) {
        self.writer.reject(rejected)
    }
    async fn health(&self) -> Result<(), String> {
        self.writer.health()
    }
}

/// Most batches shared by one commit: bounds the latency one slow group adds.
const MAX_GROUP: usize = 64;
/// Most rejections waiting to be recorded; past this they are only logged,
/// so a flood of junk cannot grow memory or crowd out real batches.
const MAX_PENDING_REJECTIONS: usize = 1024;

type Reply = oneshot::Sender<Result<Stored, String>>;

enum Job {
    /// The permit holds the batch's queue slot until it has been answered.
    Batch(Accepted, Reply, OwnedSemaphorePermit),
    Reject(Rejected, OwnedSemaphorePermit),
}

/// The handle request handlers use: queues work for the writer thread.
pub struct Writer {
    tx: Sender<Job>,
    slots: Arc<Semaphore>,
    rejection_slots: Arc<Semaphore>,
    running: Arc<AtomicBool>,
}

impl Writer {
    /// Starts the writer thread, which owns `store` until every `Writer`
    /// handle is gone. `capacity` batches may be queued or being written at once.
    pub fn start(store: impl BatchWriter, capacity: usize) -> std::io::Result<Writer> {
        let (tx, rx) = channel::<Job>();
        let running = Arc::new(AtomicBool::new(true));
        let flag = Running(running.clone());
        std::thread::Builder::new().name("goaltag-writer".into()).spawn(move || {
            let _flag = flag;
            run(store, rx);
        })?;
        Ok(Writer {
            tx,
            slots: Arc::new(Semaphore::new(capacity.max(1))),
            rejection_slots: Arc::new(Semaphore::new(MAX_PENDING_REJECTIONS)),
            running,
        })
    }

    /// Queues a batch and waits until it is durably stored.
    pub async fn store(&self, batch: Accepted) -> Result<Stored, StoreError> {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(TryAcquireError::NoPermits) => return Err(StoreError::Busy),
            Err(TryAcquireError::Closed) => return Err(StoreError::Failed("writer stopped".into())),
        };
        let (reply, answer) = oneshot::channel();
        self.tx.send(Job::Batch(batch, reply, permit)).map_err(|_| StoreError::Failed("writer stopped".into()))?;
        match answer.await {
            Ok(r) => r.map_err(StoreError::Failed),
            Err(_) => Err(StoreError::Failed("writer stopped".into())),
        }
    }

    /// Records a refused body, best effort: skipped when too many are waiting.
    pub fn reject(&self, rejected: Rejected) {
        match self.rejection_slots.clone().try_acquire_owned() {
            Ok(p) => {
                let _ = self.tx.send(Job::Reject(rejected, p));
            }
            Err(_) => tracing::debug!("rejection not recorded: too many waiting"),
        }
    }

    /// False once the writer thread has ended (it only ends early by panicking).
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    /// [`Writer::is_running`] as [`Store::health`] says it.
    pub fn health(&self) -> Result<(), String> {
        if self.is_running() {
            Ok(())
        } else {
            Err("writer stopped".into())
        }
    }
}

/// Clears the running flag when the writer thread ends, panic or not.
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
        if std::thread::panicking() {
            tracing::error!("the writer thread panicked; /collect answers 500 until restart");
        }
    }
}

/// The writer loop: takes whatever is queued (up to [`MAX_GROUP`] batches),
/// records rejections, stores the batches with one commit and answers each.
fn run(mut store: impl BatchWriter, rx: Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut accepted = Vec::new();
        let mut replies = Vec::new();
        let mut rejected = Vec::new();
        let mut permits = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Batch(a, reply, permit) => {
                    accepted.push(a);
                    replies.push(reply);
                    permits.push(permit);
                }
                Job::Reject(r, permit) => {
                    rejected.push(r);
                    permits.push(permit);
                }
            }
            if accepted.len() < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        if !rejected.is_empty() {
            if let Err(e) = store.reject(&rejected) {
                tracing::warn!(error = %e, count = rejected.len(), "recording rejections failed");
            }
        }
        if accepted.is_empty() {
            continue;
        }
        match store.store(&accepted) {
            Ok(results) if results.len() == accepted.len() => {
                for (reply, r) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(r));
                }
            }
            Ok(results) => {
                let e = format!("store answered {} results for {} batches", results.len(), accepted.len());
                tracing::error!("{e}");
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            // One by one, so a batch the store cannot take does not sink the others.
            Err(e) if accepted.len() > 1 => {
                tracing::warn!(error = %e, batches = accepted.len(), "group commit failed; storing one by one");
                for (a, reply) in accepted.into_iter().zip(replies) {
                    let r = match store.store(std::slice::from_ref(&a)) {
                        Ok(mut v) if v.len() == 1 => Ok(v.remove(0)),
                        Ok(_) => Err("store answered the wrong number of results".to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
        // Slots free only now, so `capacity` bounds queued plus in-flight batches.
        drop(permits);
    }
}
