//! Work that must not freeze the screen runs on a worker thread: reading
//! the whole store, issuing (RSA-4096 key generation takes about a
//! second), renewals (a key generation too) and the lifecycle operations
//! (they wait for the store lock), and the reads a popup or a screen
//! opens with ([`Read`]: on a remote each is a request that may take the
//! whole HTTP timeout).
//! Each job reports back once, through the `report` it was given (the
//! event loop turns it into a message on its channel): a worker knows
//! nothing of the loop.

use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::RevocationReason;
use std::time::{Duration, Instant};

use crate::api::Backend;
use crate::api::{
    CertSummary, CreateRequest, CreateResponse, GetResponse, InputRules, RenewResponse, Secret,
    SiteSummary, StatusChangeResponse,
};

use super::popup::cas::CasView;
use super::popup::confirm::Confirm;
use super::screen::details::DetailsView;

use super::Desk;

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
    /// List the sites and their certificates: all (`None`), or a batch of
    /// sites (the first load reads a store site by site, the selected one
    /// first, in batches that grow while they come back quickly).
    Load {
        sites: Option<Vec<u64>>,
        /// Take the store's change stamp before reading. The first load
        /// needs it once, before its first batch: that one covers every
        /// change during the whole load (and on 30,000 sites it stats
        /// 60,000 folders).
        stamp: bool,
    },
    Issue(Box<IssueJob>),
    Change {
        op: Op,
        /// The site of the certificate (a remote needs it with the Id).
        site: u64,
        id: String,
        label: String,
        /// Its details are open: read it again after the change.
        refresh: bool,
    },
    Renew(RenewJob),
    /// A read a popup or screen waits for; `seq` tells its answer from
    /// an older one's (the app keeps only the latest).
    Read {
        seq: u64,
        read: Read,
    },
    /// The store's change stamp, for the poll (at 30,000 sites it stats
    /// 60,000 folders: too slow for the UI thread).
    Poll,
}

/// What a popup or screen needs read before it opens.
#[derive(Debug, Clone)]
pub enum Read {
    /// `C`: the site's managed CA's hostnames and its uploaded CAs.
    Cas { site: SiteSummary },
    /// `a`: why the certificate was revoked and its successor, for the
    /// confirmation (filled in by the read).
    ActivateFacts(Box<Confirm>),
    /// Enter: GetClientCertificate and its hostnames.
    Details { site: u64, id: String },
    /// The sites and defaults the form checks against (a remote's
    /// ListSites; the local store's are in memory and read at once).
    Rules,
    /// `c`, `K`, `A`: the text to copy (`id` unused for the CA). `label`
    /// names the certificate, or the site, for the status line.
    Copy {
        what: Copied,
        site: u64,
        id: String,
        label: String,
    },
}

/// What a copy key copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copied {
    Certificate,
    PrivateKey,
    /// The site's managed CA certificate (`None` when it has none yet:
    /// a copy never creates one).
    Ca,
}

/// The answer to a [`Read`].
#[derive(Debug)]
pub enum Answer {
    Cas(EsaResult<CasView>),
    ActivateFacts(EsaResult<Box<Confirm>>),
    Details(EsaResult<Box<DetailsView>>),
    Rules(EsaResult<InputRules>),
    Copy {
        what: Copied,
        label: String,
        /// Redacted in `Debug`: it may be a private key.
        result: EsaResult<Option<Secret>>,
    },
}

impl Job {
    /// Read every site (a re-read, after the first load).
    pub fn load_all() -> Job {
        Job::Load {
            sites: None,
            stamp: true,
        }
    }
}

/// A CreateClientCertificate whose fields passed the form's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueJob {
    pub site: u64,
    pub req: CreateRequest,
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
    /// `Some(ids)`: only those sites were read (`sites` holds their
    /// summaries only); the other sites' counts and certificates are not
    /// known yet.
    pub batch: Option<Vec<u64>>,
    pub sites: Vec<SiteSummary>,
    /// The rows not handed over as pages already.
    pub rows: Vec<CertRow>,
    /// Rows came as [`Done::Page`]s before this: they are the read's.
    pub streamed: bool,
    /// Entries that could not be read (logged with their paths).
    pub damaged: usize,
}

// Sent once per job: not worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Done {
    /// A page of a site's certificates, as a remote backend hands them
    /// over during a load (the `Loaded` that ends it does not repeat them).
    Page(Vec<CertRow>),
    Loaded(EsaResult<Snapshot>),
    Issued {
        result: EsaResult<CreateResponse>,
        named: Named,
    },
    Changed {
        op: Op,
        id: String,
        label: String,
        result: EsaResult<StatusChangeResponse>,
        /// The certificate read again after the change, when its details
        /// were open (`Job::Change::refresh`).
        fresh: Option<Box<GetResponse>>,
    },
    Renewed {
        job: RenewJob,
        result: EsaResult<RenewResponse>,
        named: Named,
    },
    /// The site's CA key is encrypted and the service has no passphrase
    /// that opens it (`InvalidParameter.CAPassphrase`); nothing changed.
    NeedsPassphrase {
        job: Job,
        error: EsaError,
    },
    Read {
        seq: u64,
        answer: Answer,
    },
    /// The change stamp a poll read (`None`: the backend cannot tell).
    Polled(Option<u64>),
}

/// Runs a job on the calling thread (the worker, or a test). A job that
/// failed for want of the CA passphrase comes back whole, to be run again
/// once the operator typed it. `progress` gets the pages of a load as they
/// arrive (a remote backend's; the local store hands over everything at
/// the end).
pub fn run(desk: &dyn Backend, job: Job, progress: &dyn Fn(Done)) -> Done {
    let locked = |e: &EsaError| e.code == ErrorCode::CaPassphrase;
    match job {
        Job::Load { sites, stamp } => Done::Loaded(load(desk, sites, stamp, progress)),
        Job::Poll => Done::Polled(desk.change_stamp()),
        Job::Issue(v) => match desk.create(&v.req) {
            Err(error) if locked(&error) => Done::NeedsPassphrase {
                job: Job::Issue(v),
                error,
            },
            result => {
                let named = result
                    .as_ref()
                    .map_or_else(|_| Named::default(), |r| named(desk, v.site, &r.id));
                Done::Issued { result, named }
            }
        },
        Job::Change {
            op,
            site,
            id,
            label,
            refresh,
        } => {
            let result = match op {
                Op::Revoke(reason) => desk.revoke(Some(site), &id, reason),
                Op::Activate => desk.activate(Some(site), &id),
                Op::Delete => desk.delete(Some(site), &id),
            };
            match result {
                Err(error) if locked(&error) => Done::NeedsPassphrase {
                    job: Job::Change {
                        op,
                        site,
                        id,
                        label,
                        refresh,
                    },
                    error,
                },
                result => {
                    let fresh = (refresh && result.is_ok() && op != Op::Delete)
                        .then(|| desk.get(Some(site), &id).ok().map(Box::new))
                        .flatten();
                    Done::Changed {
                        op,
                        id,
                        label,
                        result,
                        fresh,
                    }
                }
            }
        }
        Job::Renew(job) => match desk.renew(&job.id, job.days, job.revoke_old) {
            Err(error) if locked(&error) => Done::NeedsPassphrase {
                job: Job::Renew(job),
                error,
            },
            result => {
                let named = result.as_ref().map_or_else(
                    |_| Named::default(),
                    |r| named(desk, r.site_id, &r.certificate.id),
                );
                Done::Renewed { job, result, named }
            }
        },
        Job::Read { seq, read } => Done::Read {
            seq,
            answer: read_one(desk, read),
        },
    }
}

/// A new certificate's Name and PkeyType for the result view (empty
/// where the read after the create fails).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub pkey_type: String,
}

fn named(desk: &dyn Backend, site: u64, id: &str) -> Named {
    match desk.get(Some(site), id) {
        Ok(g) => Named {
            name: crate::text::sanitize(&g.result.name),
            pkey_type: crate::text::sanitize(&g.result.pkey_type),
        },
        Err(_) => Named::default(),
    }
}

fn read_one(desk: &dyn Backend, read: Read) -> Answer {
    match read {
        Read::Cas { site } => Answer::Cas(super::popup::cas::read(desk, &site)),
        Read::ActivateFacts(ask) => {
            Answer::ActivateFacts(super::popup::confirm::read_facts(desk, *ask).map(Box::new))
        }
        Read::Rules => Answer::Rules(desk.input_rules()),
        Read::Copy {
            what,
            site,
            id,
            label,
        } => {
            let result = match what {
                Copied::Ca => desk
                    .ca_pem(site)
                    .map(|pem| pem.map(|p| Secret(zeroize::Zeroizing::new(p)))),
                Copied::PrivateKey => desk.private_key(Some(site), &id).map(Some),
                Copied::Certificate => desk
                    .get(Some(site), &id)
                    .map(|g| Some(Secret(zeroize::Zeroizing::new(g.certificate)))),
            };
            Answer::Copy {
                what,
                label,
                result,
            }
        }
        Read::Details { site, id } => {
            Answer::Details(super::screen::details::read(desk, site, &id).map(Box::new))
        }
    }
}

/// How often the pages of a remote listing reach the screen.
const PAGE_EVERY: Duration = Duration::from_millis(200);

fn rows_of(summaries: Vec<CertSummary>, seq: &mut u32) -> Vec<CertRow> {
    // Extend, not collect: collecting in place into the smaller rows would
    // end with a realloc that copies them all.
    let mut rows = Vec::with_capacity(summaries.len());
    rows.extend(summaries.into_iter().map(|s| {
        let r = CertRow::from_summary(s, *seq);
        *seq = seq.saturating_add(1);
        r
    }));
    rows
}

fn load(
    desk: &dyn Backend,
    batch: Option<Vec<u64>>,
    stamp: bool,
    progress: &dyn Fn(Done),
) -> EsaResult<Snapshot> {
    let stamp = if stamp { desk.change_stamp() } else { None };
    let mut seq = 0u32;
    let mut streamed = false;
    // Pages go to the screen at once for the first, then at most every
    // PAGE_EVERY (each hand-over re-sorts the table).
    let mut pending: Vec<CertSummary> = Vec::new();
    let mut last_sent: Option<Instant> = None;
    // One read of the store for both the counts and the rows where the
    // backend can; pages shown as they arrive where it pages.
    let mut on_page = |page: Vec<CertSummary>| {
        streamed = true;
        pending.extend(page);
        if last_sent.is_none_or(|t| t.elapsed() >= PAGE_EVERY) {
            progress(Done::Page(rows_of(std::mem::take(&mut pending), &mut seq)));
            last_sent = Some(Instant::now());
        }
    };
    let overview = match &batch {
        None => desk.overview(None, &mut on_page)?,
        Some(sites) => desk.overview_sites(sites, &mut on_page)?,
    };
    pending.extend(overview.rows);
    let rows = rows_of(pending, &mut seq);
    Ok(Snapshot {
        stamp,
        batch,
        sites: overview.sites,
        rows,
        streamed,
        damaged: overview.damaged,
    })
}

/// What a worker reports: the job's result, or why there is none (the
/// thread could not start, or the job panicked).
pub type Report = Result<Done, EsaError>;

/// The name of worker threads (the panic hook knows them by it).
pub const THREAD_NAME: &str = "esa-certs-worker";

/// Runs a job on a new thread; `report` gets the pages of a load as they
/// arrive and then, once, its result (on the worker thread, or here when
/// the thread cannot start).
pub fn spawn<R>(desk: Desk, job: Job, report: R)
where
    R: Fn(Report) + Clone + Send + 'static,
{
    let report2 = report.clone();
    // The change-stamp poll is nobody's request: when it fails it is a
    // poll that saw no change (and says so in the log), never a popup.
    let poll = matches!(job, Job::Poll);
    let spawned = std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(move || {
            let progress = |d: Done| report2(Ok(d));
            let done = caught(|| run(desk.as_ref(), job, &progress));
            report2(done.or_else(|e| {
                if !poll {
                    return Err(e);
                }
                tracing::warn!(error = %e.message, "the store's change poll failed");
                Ok(Done::Polled(None))
            }));
        });
    if let Err(e) = spawned {
        // The job is lost with the closure; say so instead of waiting forever.
        report(Err(EsaError::internal(format!(
            "cannot start a worker thread: {e}"
        ))));
    }
}

/// Runs `f`; a panic becomes an `InternalException` that names it, so the
/// screen says what happened instead of a spinner that never stops.
pub fn caught(f: impl FnOnce() -> Done) -> Report {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        #[cfg(debug_assertions)]
        test_panic();
        f()
    }))
    .map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        EsaError::internal(format!(
            "the operation stopped unexpectedly (a bug: {}); nothing more was done, \
             the log has the details",
            crate::text::clip(&crate::text::sanitize(&what), 120)
        ))
    })
}

/// Debug builds only: `ESA_CERTS_TEST_PANIC=worker` panics in every job,
/// so a test can check that the screen reports it (tests/tui_e2e.rs).
#[cfg(debug_assertions)]
fn test_panic() {
    if std::env::var("ESA_CERTS_TEST_PANIC").as_deref() == Ok("worker") {
        panic!("ESA_CERTS_TEST_PANIC=worker: a test panic in a job");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_job_reports_an_internal_error_naming_it() {
        let r = caught(|| panic!("boom \x1b[31m in a job"));
        let e = r.expect_err("a panic is an error");
        assert_eq!(e.code, ErrorCode::InternalException);
        assert!(e.message.contains("boom"), "{}", e.message);
        assert!(!e.message.contains('\x1b'), "{}", e.message);
    }
}
