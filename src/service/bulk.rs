//! Bulk issuance (`issue --count N`): a fleet of devices in one command.
//!
//! Keys are generated on every core before the store lock is taken; each
//! batch of up to [`BATCH`] certificates is signed on every core and
//! published with one filesystem sync ([`crate::store::Store::insert_batch`])
//! under one short hold of the lock, so other processes interleave between
//! batches and every certificate stays individually atomic.

use crate::base::clock::now_seconds;
use crate::base::random;
use std::thread;

use super::create::{Leaf, LeafKey, check_against_ca, created_response, issue_record};
use super::{KeyChoice, Service, ValidRequest, pki_err};
use crate::api::{CreateRequest, CreateResponse, Secret};
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{self, GeneratedKey, IssuedCert, PkeyType, SiteCa};
use crate::store::{CaMeta, CertMeta, NewEntry};

/// Most certificates one command may issue.
pub const MAX_COUNT: u32 = 100_000;
/// Certificates published per lock hold and filesystem sync.
pub const BATCH: usize = 1000;

/// `{n}` in a CommonName or Name template becomes the certificate's number
/// (1-based, zero-padded to the width of the count); without `{n}`,
/// `-<n>` is appended.
pub fn numbered(template: &str, n: u32, count: u32) -> String {
    let width = count.to_string().len();
    let num = format!("{n:0width$}");
    if template.contains("{n}") {
        template.replace("{n}", &num)
    } else {
        format!("{template}-{num}")
    }
}

impl Service {
    /// Issues `count` certificates for one request, calling `emit` with
    /// each response once its certificate is durable. Returns how many
    /// were issued; on an error, the ones already emitted stay issued.
    pub fn create_many(
        &self,
        req: &CreateRequest,
        count: u32,
        mut emit: impl FnMut(CreateResponse) -> EsaResult<()>,
    ) -> EsaResult<u32> {
        if !(1..=MAX_COUNT).contains(&count) {
            return Err(EsaError::new(
                ErrorCode::InvalidParameter,
                format!("count {count} is out of range; expected 1 to {MAX_COUNT}"),
            ));
        }
        if req.csr.is_some() && count > 1 {
            return Err(EsaError::new(
                ErrorCode::InvalidParameter,
                "a CSR holds one key: --count cannot be combined with --csr",
            ));
        }
        let v = self.validate(req)?;
        let KeyChoice::Generate(pkey_type) = v.key else {
            return self.create_valid(&v).and_then(emit).map(|()| 1);
        };
        // Validate the longest numbered labels now, not half-way through.
        let label = |t: &Option<String>, n| t.as_deref().map(|t| numbered(t, n, count));
        if count > 1 {
            self.check_common_name(label(&v.common_name, count).as_deref())?;
            self.check_name(
                Some(&numbered(&v.name, count, count))
                    .filter(|_| !v.name.is_empty())
                    .map(String::as_str),
            )?;
        }
        check_against_ca(
            now_seconds(),
            v.validity_days,
            self.planned_ca_end(&v.site, now_seconds())?,
        )?;

        let threads = thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let mut issued = 0u32;
        while issued < count {
            let n = (count - issued).min(BATCH as u32);
            let keys = generate_keys(pkey_type, n as usize, threads)?;
            let ids = (0..n)
                .map(|_| random::new_id().map_err(EsaError::from))
                .collect::<EsaResult<Vec<_>>>()?;
            let cns: Vec<Option<String>> =
                (1..=n).map(|i| label(&v.common_name, issued + i)).collect();
            let names: Vec<String> = (1..=n)
                .map(|i| {
                    if count > 1 && !v.name.is_empty() {
                        numbered(&v.name, issued + i, count)
                    } else {
                        v.name.clone()
                    }
                })
                .collect();
            let leaves: Vec<Leaf<'_>> = (0..n as usize)
                .map(|i| Leaf {
                    id: &ids[i],
                    common_name: cns[i].as_deref(),
                    name: &names[i],
                    key: LeafKey::Generated(&keys[i]),
                })
                .collect();

            let now = now_seconds();
            let lock = self.lock()?;
            // The whole request must fit the quota before the first batch.
            let pending = if issued == 0 {
                u64::from(count)
            } else {
                u64::from(n)
            };
            self.check_quota(&lock, &v.site, now, pending, None)?;
            let (ca, ca_meta) = self.ensure_ca(&lock, &v.site, now)?;
            check_against_ca(now, v.validity_days, ca.info.not_after)?;
            let signed = self.sign_parallel(&ca, &ca_meta, &v, &leaves, now, threads)?;
            let keep = self.config.store.keep_private_keys;
            let items: Vec<NewEntry<'_>> = signed
                .iter()
                .zip(&keys)
                .map(|((cert, meta), key)| NewEntry {
                    meta,
                    cert_pem: &cert.pem,
                    key_pem: keep.then_some(key.pkcs8_pem.as_str()),
                })
                .collect();
            let records = signed
                .iter()
                .map(|(_, meta)| {
                    issue_record("issue", meta, (count > 1).then(|| "bulk".to_owned()))
                })
                .collect();
            self.publish_batch(&lock, records, &items)?;
            drop(lock);
            tracing::info!(
                site = v.site.id,
                count = n,
                "issued a batch of client certificates"
            );
            for ((cert, meta), key) in signed.into_iter().zip(keys) {
                emit(created_response(&meta, cert.pem, Secret(key.pkcs8_pem)))?;
            }
            issued += n;
        }
        Ok(issued)
    }

    fn sign_parallel(
        &self,
        ca: &SiteCa,
        ca_meta: &CaMeta,
        v: &ValidRequest,
        leaves: &[Leaf<'_>],
        now: time::OffsetDateTime,
        threads: usize,
    ) -> EsaResult<Vec<(IssuedCert, CertMeta)>> {
        let chunk = leaves.len().div_ceil(threads).max(1);
        thread::scope(|s| {
            // Every thread is started before any result is used; one that
            // cannot be started fails the batch before it is audited or
            // published (the scope joins those already running).
            let handles = leaves
                .chunks(chunk)
                .map(|part| {
                    spawn_in(s, "signing", "bulk-spawn-sign", move || {
                        part.iter()
                            .map(|leaf| self.sign_leaf(ca, ca_meta, v, leaf, now))
                            .collect::<EsaResult<Vec<_>>>()
                    })
                })
                .collect::<EsaResult<Vec<_>>>()?;
            let mut out = Vec::with_capacity(leaves.len());
            for h in handles {
                out.extend(
                    h.join()
                        .map_err(|_| EsaError::internal("a signing thread panicked"))??,
                );
            }
            Ok(out)
        })
    }
}

fn generate_keys(t: PkeyType, n: usize, threads: usize) -> EsaResult<Vec<GeneratedKey>> {
    let per = n.div_ceil(threads).max(1);
    thread::scope(|s| {
        let handles = (0..n)
            .step_by(per)
            .map(|start| {
                let len = per.min(n - start);
                spawn_in(s, "key generation", "bulk-spawn-keygen", move || {
                    (0..len)
                        .map(|_| pki::generate(t))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect::<EsaResult<Vec<_>>>()?;
        let mut out = Vec::with_capacity(n);
        for h in handles {
            let keys = h
                .join()
                .map_err(|_| EsaError::internal("a key generation thread panicked"))?
                .map_err(pki_err)?;
            out.extend(keys);
        }
        Ok(out)
    })
}

/// Starts a scoped worker thread. `thread::Scope::spawn` panics when the
/// OS refuses a thread (the process limit, `ulimit -u`, or memory); this
/// answers `InternalException` instead. `fail` names the debug-only fail
/// point (`ESA_CERTS_TEST_FAIL`) that makes the start fail as the OS would.
fn spawn_in<'scope, T: Send + 'scope>(
    s: &'scope thread::Scope<'scope, '_>,
    what: &str,
    fail: &str,
    f: impl FnOnce() -> T + Send + 'scope,
) -> EsaResult<thread::ScopedJoinHandle<'scope, T>> {
    let started = if crate::base::failpoint(fail) {
        Err(std::io::Error::from_raw_os_error(libc::EAGAIN))
    } else {
        thread::Builder::new()
            .name(format!("esa-certs-{}", what.replace(' ', "-")))
            .spawn_scoped(s, f)
    };
    started.map_err(|e| {
        tracing::error!(error = %e, "cannot start a {what} thread");
        EsaError::internal(format!(
            "cannot start a {what} thread ({e}); nothing was issued in this batch"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_pads_to_the_count() {
        assert_eq!(numbered("dev-{n}", 7, 1000), "dev-0007");
        assert_eq!(numbered("laptop", 12, 50), "laptop-12");
        assert_eq!(numbered("{n}.{n}", 3, 9), "3.3");
    }

    #[test]
    fn bulk_issues_distinct_numbered_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::config::parse(
            "[store]\npath = \"s\"\n[[site]]\nid = 1\nname = \"a.example\"\nmax_client_certificates = 30\n",
            &dir.path().join("c.toml"),
        )
        .unwrap();
        let service = Service::open(cfg).unwrap();
        let req = CreateRequest {
            site_id: Some("1".into()),
            validity_days: Some("5".into()),
            pkey_type: Some("ecc".into()),
            common_name: Some("dev-{n}.fleet".into()),
            name: Some("fleet".into()),
            ..Default::default()
        };
        let mut got = Vec::new();
        let n = service.create_many(&req, 25, |r| {
            got.push(r);
            Ok(())
        });
        assert_eq!(n.unwrap(), 25);
        assert_eq!(got[0].common_name, "dev-01.fleet");
        assert_eq!(got[24].common_name, "dev-25.fleet");
        let serials: std::collections::HashSet<_> =
            got.iter().map(|r| r.serial_number.clone()).collect();
        assert_eq!(serials.len(), 25);
        let listed = service.list(&Default::default()).unwrap().response;
        assert_eq!(listed.total_count, 25);
        assert!(listed.result.iter().any(|c| c.name == "fleet-07"));
        // The quota is checked for the whole request up front.
        let e = service.create_many(&req, 6, |_| Ok(())).unwrap_err();
        assert_eq!(e.code, ErrorCode::QuotaCheckFailed);
        assert_eq!(
            service
                .list(&Default::default())
                .unwrap()
                .response
                .total_count,
            25
        );
        // CSR + count is refused.
        let mut with_csr = req.clone();
        with_csr.csr = Some(b"x".to_vec());
        assert_eq!(
            service
                .create_many(&with_csr, 2, |_| Ok(()))
                .unwrap_err()
                .code,
            ErrorCode::InvalidParameter
        );
    }
}
