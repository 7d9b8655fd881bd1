//! Work that must not freeze the screen runs on a worker thread: reading
//! the whole store, issuing (RSA-4096 key generation takes about a
//! second), renewals (a key generation too) and the lifecycle operations
//! (they wait for the store lock).
//! Each job reports back once, as a message on the event channel.

use std::sync::mpsc::Sender;

use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::RevocationReason;
use crate::service::{
    CreateResponse, RenewResponse, Service, SiteSummary, StatusChangeResponse, ValidRequest,
};

use super::event::Event;
use super::screen::main::rows::CertRow;

/// A revoke, activate or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Revoke(Option<RevocationReason>),
    Activate,
    Delete,
}

impl Op {
    /// "Revoke", "Activate", "Delete".
    pub fn verb(self) -> &'static str {
        match self {
            Op::Revoke(_) => "Revoke",
            Op::Activate => "Activate",
            Op::Delete => "Delete",
        }
    }

    /// "revoked", "activated", "deleted".
    pub fn done(self) -> &'static str {
        match self {
            Op::Revoke(_) => "revoked",
            Op::Activate => "activated",
            Op::Delete => "deleted",
        }
    }
}

#[derive(Debug)]
pub enum Job {
    /// List the sites and their certificates: one site (`Some`), to show
    /// it first, or all.
    Load {
        site: Option<u64>,
    },
    Issue(Box<ValidRequest>),
    Change {
        op: Op,
        id: String,
        label: String,
    },
    Renew(RenewJob),
}

/// A renewal as confirmed in the popup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewJob {
    pub id: String,
    /// The old certificate's label and NotAfter, for the result view.
    pub label: String,
    pub not_after: String,
    /// `None`: the old certificate's validity.
    pub days: Option<u32>,
    pub revoke_old: bool,
}

/// Everything the main screen shows, read in one go.
#[derive(Debug)]
pub struct Snapshot {
    /// The store's change stamp taken before reading: a change during the
    /// read moves it, and the next poll reads again.
    pub stamp: Option<u64>,
    /// `Some(id)`: only that site was read; the other sites' counts and
    /// certificates are not known yet.
    pub site: Option<u64>,
    pub sites: Vec<SiteSummary>,
    pub rows: Vec<CertRow>,
    /// Entries that could not be read (logged with their paths).
    pub damaged: usize,
}

// Sent once per job: not worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Done {
    Loaded(EsaResult<Snapshot>),
    Issued(EsaResult<CreateResponse>),
    Changed {
        op: Op,
        id: String,
        label: String,
        result: EsaResult<StatusChangeResponse>,
    },
    Renewed {
        job: RenewJob,
        result: EsaResult<RenewResponse>,
    },
    /// The site's CA key is encrypted and the service has no passphrase
    /// that opens it (`InvalidParameter.CAPassphrase`); nothing changed.
    NeedsPassphrase {
        job: Job,
        error: EsaError,
    },
}

/// Runs a job on the calling thread (the worker, or a test). A job that
/// failed for want of the CA passphrase comes back whole, to be run again
/// once the operator typed it.
pub fn run(service: &Service, job: Job) -> Done {
    let locked = |e: &EsaError| e.code == ErrorCode::CaPassphrase;
    match job {
        Job::Load { site } => Done::Loaded(load(service, site)),
        Job::Issue(v) => match service.create_valid(&v) {
            Err(error) if locked(&error) => Done::NeedsPassphrase {
                job: Job::Issue(v),
                error,
            },
            result => Done::Issued(result),
        },
        Job::Change { op, id, label } => {
            let result = match op {
                Op::Revoke(reason) => service.revoke(&id, reason),
                Op::Activate => service.activate(&id),
                Op::Delete => service.delete(&id),
            };
            match result {
                Err(error) if locked(&error) => Done::NeedsPassphrase {
                    job: Job::Change { op, id, label },
                    error,
                },
                result => Done::Changed {
                    op,
                    id,
                    label,
                    result,
                },
            }
        }
        Job::Renew(job) => match service.renew(&job.id, job.days, job.revoke_old) {
            Err(error) if locked(&error) => Done::NeedsPassphrase {
                job: Job::Renew(job),
                error,
            },
            result => Done::Renewed { job, result },
        },
    }
}

fn load(service: &Service, site: Option<u64>) -> EsaResult<Snapshot> {
    let stamp = service.change_stamp().ok();
    // One read of the store for both the counts and the rows.
    let (sites, listing) = service.overview(site)?;
    let sites = sites.sites;
    for d in &listing.damaged {
        tracing::warn!(path = %d.path.display(), reason = %d.reason, "skipped an unreadable entry");
    }
    let damaged = listing.damaged.len();
    // Extend, not collect: collecting in place into the smaller rows would
    // end with a realloc that copies them all.
    let mut rows = Vec::with_capacity(listing.response.result.len());
    rows.extend(
        listing
            .response
            .result
            .into_iter()
            .enumerate()
            .map(|(i, s)| CertRow::from_summary(s, u32::try_from(i).unwrap_or(u32::MAX))),
    );
    Ok(Snapshot {
        stamp,
        site,
        sites,
        rows,
        damaged,
    })
}

/// Runs a job on a new thread; the result arrives as [`Event::Done`].
pub fn spawn(service: &Service, job: Job, tx: &Sender<Event>) {
    let service = service.clone();
    let tx2 = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("esa-certs-worker".into())
        .spawn(move || {
            let done = run(&service, job);
            let _ = tx2.send(Event::Done(done));
        });
    if let Err(e) = spawned {
        // The job is lost with the closure; say so instead of waiting forever.
        let err = EsaError::internal(format!("cannot start a worker thread: {e}"));
        let _ = tx.send(Event::WorkerFailed(err));
    }
}
