//! The renew popup's state: which certificate, the validity of its
//! successor (default: the old one's) and whether to revoke the old one
//! (default: no, as `esa-certs renew` without `--revoke-old`). The days are
//! checked as typed with the service's own rule, so the popup cannot accept
//! what the service would refuse for that reason. It is not opened for a
//! certificate the service will not renew (revoked, or renewed already:
//! the app says why in the status line); other refusals (quota, a race
//! with another process) come from the service itself.

use crate::error::EsaError;
use crate::service::{CertSummary, Service, Status};
use crate::text::sanitize;

use super::form::{DAYS_MAX_CHARS, PRESETS};
use super::input::{Edit, TextInput};
use super::rows::CertRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewField {
    Days,
    RevokeOld,
}

#[derive(Debug, Clone)]
pub struct RenewAsk {
    pub id: String,
    /// Name/CommonName as the table shows it (sanitised).
    pub label: String,
    pub status: Status,
    /// The old certificate's NotAfter (sanitised), for "stays valid until".
    pub not_after: String,
    /// The old certificate's ValidityDays (0: unknown).
    pub old_days: u32,
    /// Its key type, e.g. `ECC_256` (sanitised).
    pub key_type: String,
    /// Issued for a CSR: the successor keeps the public key.
    pub from_csr: bool,
    pub days: TextInput,
    pub revoke_old: bool,
    pub focus: RenewField,
    /// What the service says about the typed days.
    pub days_error: Option<EsaError>,
}

impl RenewAsk {
    fn new(id: &str, label: &str, status: Status, not_after: &str, old_days: u32) -> RenewAsk {
        let days = if old_days == 0 {
            String::new()
        } else {
            old_days.to_string()
        };
        RenewAsk {
            id: id.to_owned(),
            label: label.to_owned(),
            status,
            not_after: sanitize(not_after),
            old_days,
            key_type: String::new(),
            from_csr: false,
            days: TextInput::limited(&days, DAYS_MAX_CHARS),
            revoke_old: false,
            focus: RenewField::Days,
            days_error: None,
        }
    }

    /// From a row of the table.
    pub fn from_row(r: &CertRow) -> RenewAsk {
        RenewAsk {
            key_type: r.key_type.clone(),
            from_csr: r.from_csr,
            ..RenewAsk::new(&r.id, &r.label(), r.status, &r.not_after, r.validity_days)
        }
    }

    /// From the details of a certificate.
    pub fn from_summary(s: &CertSummary, label: &str) -> RenewAsk {
        let status = s.status;
        let days = s.validity_days.parse().unwrap_or(0);
        RenewAsk {
            key_type: sanitize(&s.pkey_type),
            from_csr: s.kind == "csr",
            ..RenewAsk::new(&s.id, label, status, &s.not_after, days)
        }
    }

    /// The days to ask for: `None` keeps the old certificate's validity.
    /// Errors as the service words them.
    pub fn days(&self, service: &Service) -> Result<Option<u32>, EsaError> {
        let d = service.check_validity_days(Some(self.days.value()))?;
        Ok((d != self.old_days).then_some(d))
    }

    pub fn text_focus(&self) -> bool {
        self.focus == RenewField::Days
    }

    pub fn focus_step(&mut self) {
        self.focus = match self.focus {
            RenewField::Days => RenewField::RevokeOld,
            RenewField::RevokeOld => RenewField::Days,
        };
    }

    /// ←/→/Space: a ValidityDays preset (the old validity among them), or
    /// the switch.
    pub fn cycle(&mut self, forward: bool, service: &Service) {
        match self.focus {
            RenewField::RevokeOld => self.revoke_old = !self.revoke_old,
            RenewField::Days => {
                let mut choices: Vec<u32> = PRESETS.to_vec();
                if self.old_days > 0 && !choices.contains(&self.old_days) {
                    choices.push(self.old_days);
                    choices.sort_unstable();
                }
                let now: Option<u32> = self.days.value().trim().parse().ok();
                let next = match (now, forward) {
                    (Some(d), true) => choices.iter().find(|p| **p > d),
                    (Some(d), false) => choices.iter().rev().find(|p| **p < d),
                    (None, _) => choices.iter().find(|p| **p == self.old_days.max(1)),
                };
                if let Some(p) = next {
                    self.days.set(&p.to_string());
                }
                self.revalidate(service);
            }
        }
    }

    pub fn edit(&mut self, e: Edit, service: &Service) {
        let non_digit = matches!(e, Edit::Char(c) if !c.is_ascii_digit());
        if self.focus == RenewField::Days && !non_digit && self.days.apply(e) {
            self.revalidate(service);
        }
    }

    pub fn paste(&mut self, text: &str, service: &Service) {
        if self.focus == RenewField::Days {
            self.days.insert_str(&super::form::digits(text));
            self.revalidate(service);
        }
    }

    fn revalidate(&mut self, service: &Service) {
        self.days_error = self.days(service).err();
    }
}
