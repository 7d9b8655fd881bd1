//! Group commit of CreateClientCertificate for the HTTP server: requests
//! that arrive together are issued under one lock and published with one
//! filesystem sync ([`crate::store::Store::insert_batch`]) instead of three
//! fsyncs each. Durability is the CLI's: a response is sent only after its
//! certificate is on disk, so a create that got its answer survives a
//! crash a moment later.
//!
//! The slow, independent part (input rules, key generation) runs in each
//! request's own thread ([`Service::prepare_create`]); the committer takes
//! whatever is ready ([`Service::commit_creates`]). Each request keeps its
//! own rules and errors: a quota or CA refusal fails that request alone.

use super::create::{
    KeyChoice, Leaf, LeafKey, ValidRequest, check_against_ca, created_response, issue_record,
    quota_check,
};
use super::{Service, pki_err};
use crate::api::{CreateRequest, CreateResponse, Secret};
use crate::base::clock::now_seconds;
use crate::base::random;
use crate::error::{EsaError, EsaResult};
use crate::pki::{self, GeneratedKey, IssuedCert, SiteCa};
use crate::store::{Actor, CaMeta, CertMeta, NewEntry, current_actor};
use std::sync::Arc;

/// A create that passed its rules and has its key, waiting for a commit.
#[derive(Debug)]
pub struct PreparedCreate {
    valid: ValidRequest,
    generated: Option<GeneratedKey>,
    id: String,
    actor: Option<Actor>,
    /// Signed already, when the site's CA existed: by the CA of that id
    /// (the commit signs again if the site's CA is another by then).
    signed: Option<(String, IssuedCert, CertMeta)>,
}

/// A signed create waiting to be published: its place in the group, the
/// certificate, its record, its key and who asked.
type Signed = (
    usize,
    IssuedCert,
    CertMeta,
    Option<GeneratedKey>,
    Option<Actor>,
);

impl Service {
    /// The part of a create that needs no lock: every input rule, the
    /// early check against the CA's end, the key generation and the Id.
    /// The requester ([`crate::store::with_actor`]) is remembered for the
    /// audit record.
    pub fn prepare_create(&self, req: &CreateRequest) -> EsaResult<PreparedCreate> {
        let valid = self.validate(req)?;
        let now = now_seconds();
        check_against_ca(
            now,
            valid.validity_days,
            self.planned_ca_end(&valid.site, now)?,
        )?;
        let generated = match &valid.key {
            KeyChoice::Generate(t) => Some(pki::generate(*t).map_err(pki_err)?),
            KeyChoice::Csr(_) => None,
        };
        let id = random::new_id().map_err(EsaError::from)?;
        // Signing is most of a create's CPU: done here, on the request's
        // own thread, it runs on every core instead of in the committer.
        // Without a CA yet (the site's first create) the commit makes one
        // and signs there.
        let signed = match self.load_site_ca(valid.site.id)? {
            Some((ca, ca_meta)) => {
                check_against_ca(now, valid.validity_days, ca.info.not_after)?;
                let leaf = leaf_of(&id, &valid, generated.as_ref())?;
                let (cert, meta) = self.sign_leaf(&ca, &ca_meta, &valid, &leaf, now)?;
                Some((ca_meta.id, cert, meta))
            }
            None => None,
        };
        Ok(PreparedCreate {
            valid,
            generated,
            id,
            actor: current_actor(),
            signed,
        })
    }

    /// Issues prepared creates under one lock with one sync; one result
    /// per item, in order.
    pub fn commit_creates(&self, items: Vec<PreparedCreate>) -> Vec<EsaResult<CreateResponse>> {
        let n = items.len();
        let lock = match self.lock() {
            Ok(l) => l,
            Err(e) => return vec![Err(e); n],
        };
        let now = now_seconds();
        let mut cas: Vec<(u64, Arc<SiteCa>, CaMeta)> = Vec::new();
        // Per site of the group: the live count read once, and how many
        // of the group were accepted so far.
        let mut adding: Vec<(u64, Option<u64>, u64)> = Vec::new();
        let mut results: Vec<Option<EsaResult<CreateResponse>>> = (0..n).map(|_| None).collect();
        let mut signed: Vec<Signed> = Vec::with_capacity(n);

        for (i, mut item) in items.into_iter().enumerate() {
            let mut presigned = item.signed.take();
            let v = &item.valid;
            let mut step = || -> EsaResult<(IssuedCert, CertMeta)> {
                if !adding.iter().any(|a| a.0 == v.site.id) {
                    let live = self.live_count(&lock, &v.site, now, None)?;
                    adding.push((v.site.id, live, 0));
                }
                let (_, live, pending) = adding
                    .iter()
                    .find(|a| a.0 == v.site.id)
                    .copied()
                    .ok_or_else(|| EsaError::internal("the site's count went missing"))?;
                quota_check(&v.site, live, pending + 1)?;
                if !cas.iter().any(|(s, _, _)| *s == v.site.id) {
                    // Checked before ensure_ca so a refused request never
                    // creates a CA; once it is loaded its own end is used.
                    check_against_ca(now, v.validity_days, self.planned_ca_end(&v.site, now)?)?;
                    let (ca, meta) = self.ensure_ca(&lock, &v.site, now)?;
                    cas.push((v.site.id, ca, meta));
                }
                let (_, ca, ca_meta) = cas
                    .iter()
                    .find(|(s, _, _)| *s == v.site.id)
                    .ok_or_else(|| EsaError::internal("the site CA went missing"))?;
                match presigned.take() {
                    Some((ca_id, cert, meta)) if ca_id == ca_meta.id => Ok((cert, meta)),
                    _ => {
                        check_against_ca(now, v.validity_days, ca.info.not_after)?;
                        let leaf = leaf_of(&item.id, v, item.generated.as_ref())?;
                        self.sign_leaf(ca, ca_meta, v, &leaf, now)
                    }
                }
            };
            match step() {
                Ok((cert, meta)) => {
                    if let Some(a) = adding.iter_mut().find(|a| a.0 == v.site.id) {
                        a.2 += 1;
                    }
                    signed.push((i, cert, meta, item.generated, item.actor));
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }

        if !signed.is_empty() {
            let records = signed
                .iter()
                .map(|(_, _, meta, _, actor)| issue_record("issue", meta, None).by(actor.as_ref()))
                .collect();
            let entries: Vec<NewEntry<'_>> = signed
                .iter()
                .map(|(_, cert, meta, key, _)| NewEntry {
                    meta,
                    cert_pem: &cert.pem,
                    key_pem: key
                        .as_ref()
                        .filter(|_| meta.key_stored)
                        .map(|g| g.pkcs8_pem.as_str()),
                })
                .collect();
            let committed = self.publish_batch(&lock, records, &entries);
            drop(entries);
            match committed {
                Ok(_) => {
                    tracing::info!(
                        count = signed.len(),
                        "issued client certificates (group commit)"
                    );
                    for (i, cert, meta, key, _) in signed {
                        let key = key.map(|g| Secret(g.pkcs8_pem)).unwrap_or_default();
                        results[i] = Some(Ok(created_response(&meta, cert.pem, key)));
                    }
                }
                Err(e) => {
                    for (i, ..) in signed {
                        results[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        drop(lock);
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(EsaError::internal("a create got no result"))))
            .collect()
    }
}

/// The certificate to sign for a prepared create: its generated key or
/// its CSR's.
fn leaf_of<'a>(
    id: &'a str,
    v: &'a ValidRequest,
    generated: Option<&'a GeneratedKey>,
) -> EsaResult<Leaf<'a>> {
    Ok(Leaf {
        id,
        common_name: v.common_name.as_deref(),
        name: &v.name,
        key: match (generated, &v.key) {
            (Some(g), _) => LeafKey::Generated(g),
            (None, KeyChoice::Csr(c)) => LeafKey::Csr(c),
            (None, KeyChoice::Generate(_)) => {
                return Err(EsaError::internal("no public key for the certificate"));
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(extra: &str) -> (tempfile::TempDir, Service) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        std::fs::write(
            &cfg,
            format!(
                "[store]\npath = \"store\"\n[[site]]\nid = 7\nname = \"example.com\"\n{extra}\n"
            ),
        )
        .unwrap();
        let config = crate::config::load(&cfg).unwrap();
        (dir, Service::open(config).unwrap())
    }

    fn req(site: &str) -> CreateRequest {
        CreateRequest {
            site_id: Some(site.into()),
            validity_days: Some("30".into()),
            pkey_type: Some("ECC_256".into()),
            ..CreateRequest::default()
        }
    }

    #[test]
    fn a_group_issues_each_and_fails_alone_past_the_quota() {
        let (_d, s) = service("max_client_certificates = 3");
        let items: Vec<_> = (0..5)
            .map(|_| s.prepare_create(&req("7")).unwrap())
            .collect();
        let out = s.commit_creates(items);
        let ok = out.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 3, "{out:?}");
        for r in &out[3..] {
            assert_eq!(
                r.as_ref().unwrap_err().code,
                crate::error::ErrorCode::QuotaCheckFailed
            );
        }
        let listed = s
            .list(&super::super::ListQuery::default())
            .unwrap()
            .response
            .result;
        assert_eq!(listed.len(), 3);
        let first = out[0].as_ref().unwrap();
        assert!(first.private_key.expose().contains("PRIVATE KEY"));
        assert!(
            s.prepare_create(&req("8")).is_err(),
            "rules apply before the commit"
        );
    }
}
