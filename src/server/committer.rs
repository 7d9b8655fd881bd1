//! The create committer: one thread that takes every prepared create that
//! has queued up (up to [`MAX_GROUP`]) and issues them together
//! ([`Service::commit_creates`]: one lock, one filesystem sync). While one
//! group is being synced the next one gathers, so under load the cost of
//! durability is shared instead of dropped; alone, a create waits for
//! nobody.

use std::sync::Arc;
use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::api::CreateResponse;
use crate::error::{EsaError, EsaResult};
use crate::service::{PreparedCreate, Service};

/// Most creates committed together.
pub const MAX_GROUP: usize = 64;

type Job = (PreparedCreate, oneshot::Sender<EsaResult<CreateResponse>>);

pub struct Committer {
    queue: mpsc::Sender<Job>,
}

impl Committer {
    pub fn start(service: Arc<Service>) -> EsaResult<Committer> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("esa-commit".into())
            .spawn(move || run(&service, &rx))
            .map_err(|e| EsaError::internal(format!("cannot start the commit thread: {e}")))?;
        Ok(Committer { queue: tx })
    }

    /// Queues a prepared create and waits for its durable result.
    pub async fn commit(&self, p: PreparedCreate) -> EsaResult<CreateResponse> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send((p, tx))
            .map_err(|_| EsaError::internal("the commit thread has stopped; nothing was issued"))?;
        rx.await
            .map_err(|_| EsaError::internal("the commit thread stopped before answering"))?
    }
}

fn run(service: &Service, rx: &mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let (items, replies): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
        let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            service.commit_creates(items)
        }));
        match results {
            Ok(results) => {
                for (reply, r) in replies.into_iter().zip(results) {
                    // A client that went away gets nothing; its certificate
                    // stays issued (and audited) all the same.
                    let _ = reply.send(r);
                }
            }
            Err(_) => {
                tracing::error!("the commit of a group of creates panicked");
                for reply in replies {
                    let _ = reply.send(Err(EsaError::internal(
                        "the commit failed inside the server; see the log",
                    )));
                }
            }
        }
    }
}
