//! The issue form: its fields, its focus and its inline errors. Every rule
//! is the backend's: each field is checked as it changes with the rule of
//! `api::input` over the backend's [`InputRules`] (the very functions the
//! local service and `serve` apply), so the form cannot disagree with the
//! CLI, and the backend applies them again when it issues.

pub mod view;

use crate::base::limits::{MAX_COMMON_NAME_CHARS, MAX_CSR_BYTES, MAX_NAME_CHARS};
use std::cell::Cell;
use std::time::Instant;

use crate::api::{CreateRequest, SiteSummary};
use crate::api::{InputRules, input};
use crate::error::{ErrorCode, EsaError};
use crate::pki::PkeyType;
use crate::text::sanitize;
use crate::tui::action::Cmd;
use crate::tui::app::{App, Screen};
use crate::tui::worker::{IssueJob, Job};

use crate::tui::input::{Edit, MultiLine, TextInput, normalize_newlines, tidy_pem};
use crate::tui::keys::Ctx;

/// Quick choices for ValidityDays (←/→ in the field).
pub const PRESETS: [u32; 4] = [30, 90, 365, 730];

/// Characters a ValidityDays field takes: one more than the largest valid
/// value (3650) has, so a typo past the range is still seen, and refused
/// by the service's rule. Its box is one wider, for the cursor.
pub const DAYS_MAX_CHARS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Site,
    Source,
    Days,
    KeyType,
    Csr,
    CommonName,
    Name,
    Submit,
}

impl Field {
    /// The field's label, as the form shows it.
    pub fn label(self) -> &'static str {
        match self {
            Field::Site => "Site",
            Field::Source => "Key source",
            Field::Days => "ValidityDays",
            Field::KeyType => "Key type",
            Field::Csr => "CSR",
            Field::CommonName => "CommonName",
            Field::Name => "Name",
            Field::Submit => "Issue",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Generate,
    Csr,
}

const GENERATE_FIELDS: &[Field] = &[
    Field::Site,
    Field::Source,
    Field::Days,
    Field::KeyType,
    Field::CommonName,
    Field::Name,
    Field::Submit,
];
const CSR_FIELDS: &[Field] = &[
    Field::Site,
    Field::Source,
    Field::Days,
    Field::Csr,
    Field::CommonName,
    Field::Name,
    Field::Submit,
];

/// What a valid CSR will contribute, for display (sanitised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrPreview {
    pub subject: String,
    pub key: String,
    pub sans: Vec<String>,
    pub has_cn: bool,
}

/// How a paste was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pasted {
    /// A PEM CSR: the form switched to CSR mode with it.
    Csr,
    /// Into the focused text field.
    Field,
    /// Into the focused text field, cut at its limit (characters).
    Cut { limit: usize },
    /// Nowhere: a choice has the focus.
    Ignored,
}

#[derive(Debug)]
pub struct IssueForm {
    /// (SiteId, name) of the config's sites, names sanitised.
    pub sites: Vec<(u64, String)>,
    pub site: usize,
    pub source: Source,
    pub days: TextInput,
    /// Index into [`PkeyType::SPELLINGS`].
    pub key_type: usize,
    pub csr: MultiLine,
    pub csr_preview: Option<CsrPreview>,
    pub common_name: TextInput,
    pub name: TextInput,
    pub focus: Field,
    errors: Vec<(Field, EsaError)>,
    touched: Vec<Field>,
    /// A key type was picked (not the default): kept when the rules come.
    key_type_chosen: bool,
    submit_tried: bool,
    /// A failure that belongs to no field (quota, store).
    pub form_error: Option<EsaError>,
    /// Set while the worker issues.
    pub submitting: Option<Instant>,
    /// First line shown; the renderer keeps the focus in view.
    pub scroll: Cell<usize>,
}

/// A label for one of ESA's PkeyType spellings: `ECDSA P-256 (ECC_256)`.
pub fn key_type_label(spelling: &str) -> String {
    match PkeyType::parse(spelling) {
        Some(t) => format!("{} ({spelling})", t.label()),
        None => spelling.to_owned(),
    }
}

/// The key type list's entry for the config's `defaults.pkey_type`. The
/// config keeps the type, not how it was spelt, so this is the first
/// spelling of that type in ESA's list: `RSA` (as the default config
/// writes it) rather than `RSA_2048`, `ECC` rather than `ECC_256`; the
/// key generated is the same either way.
pub fn default_key_index(t: PkeyType) -> usize {
    PkeyType::SPELLINGS
        .iter()
        .position(|s| PkeyType::parse(s) == Some(t))
        .unwrap_or(0)
}

/// Whether pasted text is (or holds) a PEM CSR.
pub fn looks_like_csr(text: &str) -> bool {
    text.contains("-----BEGIN CERTIFICATE REQUEST-----")
        || text.contains("-----BEGIN NEW CERTIFICATE REQUEST-----")
}

/// The label of the first PEM block in pasted text (`CERTIFICATE`,
/// `PRIVATE KEY`), if it has one.
pub fn pem_label(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &text[start..];
    let end = rest.find("-----")?;
    let label = rest[..end].trim();
    (!label.is_empty() && label.len() <= 40 && !label.contains('\n')).then_some(label)
}

/// Why a pasted PEM that is not a CSR was refused, for the status line
/// (fits 80 columns). `None` for a CSR, or text that is no PEM.
pub fn refused_pem(text: &str) -> Option<String> {
    if looks_like_csr(text) {
        return None;
    }
    let label = pem_label(text)?;
    Some(if label.contains("PRIVATE KEY") {
        "That is a private key: not used or kept; paste a CSR (openssl req -new)".into()
    } else {
        format!(
            "That is a {}, not a CSR: nothing was pasted",
            crate::text::clip(&sanitize(label), 24)
        )
    })
}

/// The digits of a text: what a ValidityDays field takes of a paste.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The field an error code belongs to.
fn field_of(code: ErrorCode) -> Option<Field> {
    Some(match code {
        ErrorCode::MissingSiteId | ErrorCode::InvalidSiteId => Field::Site,
        ErrorCode::InvalidValidityDays => Field::Days,
        ErrorCode::InvalidPkeyType => Field::KeyType,
        ErrorCode::InvalidCsr => Field::Csr,
        ErrorCode::InvalidCommonName => Field::CommonName,
        ErrorCode::InvalidName => Field::Name,
        _ => return None,
    })
}

impl IssueForm {
    /// A form for `site_id` (else the first site), with the config's
    /// defaults.
    pub fn new(rules: &InputRules, sites: &[SiteSummary], site_id: Option<u64>) -> IssueForm {
        let defaults = rules.defaults;
        // The config's list is the authority; the loaded summaries may lag.
        let sites: Vec<(u64, String)> = if rules.sites.is_empty() {
            sites
                .iter()
                .map(|s| (s.site_id, sanitize(&s.site_name)))
                .collect()
        } else {
            rules
                .sites
                .iter()
                .map(|s| (s.id, sanitize(&s.name)))
                .collect()
        };
        let site = site_id
            .and_then(|id| sites.iter().position(|s| s.0 == id))
            .unwrap_or(0);
        let key_type = default_key_index(defaults.pkey_type);
        let mut form = IssueForm {
            sites,
            site,
            source: Source::Generate,
            days: TextInput::limited(&defaults.validity_days.to_string(), DAYS_MAX_CHARS),
            key_type,
            csr: MultiLine::new(MAX_CSR_BYTES + 1),
            csr_preview: None,
            // Capped where the service's rules stop (a longer value could
            // never be issued); a paste past it is cut and said.
            common_name: TextInput::limited("", MAX_COMMON_NAME_CHARS),
            name: TextInput::limited("", MAX_NAME_CHARS),
            focus: Field::Days,
            errors: Vec::new(),
            touched: Vec::new(),
            key_type_chosen: false,
            submit_tried: false,
            form_error: None,
            submitting: None,
            scroll: Cell::new(0),
        };
        form.revalidate(rules);
        form
    }

    /// The desk's rules came after the form opened (a remote's sites):
    /// its sites, and its defaults where nothing was chosen yet.
    pub fn adopt_rules(&mut self, rules: &InputRules) {
        if !rules.sites.is_empty() {
            let keep = self.site_id();
            self.sites = rules
                .sites
                .iter()
                .map(|s| (s.id, sanitize(&s.name)))
                .collect();
            self.site = keep
                .and_then(|id| self.sites.iter().position(|s| s.0 == id))
                .unwrap_or(0);
        }
        if !self.touched.contains(&Field::Days) {
            self.days.set(&rules.defaults.validity_days.to_string());
        }
        if !self.key_type_chosen {
            self.key_type = default_key_index(rules.defaults.pkey_type);
        }
        self.revalidate(rules);
    }

    pub fn fields(&self) -> &'static [Field] {
        match self.source {
            Source::Generate => GENERATE_FIELDS,
            Source::Csr => CSR_FIELDS,
        }
    }

    pub fn site_id(&self) -> Option<u64> {
        self.sites.get(self.site).map(|s| s.0)
    }

    pub fn key_spelling(&self) -> &'static str {
        PkeyType::SPELLINGS[self.key_type % PkeyType::SPELLINGS.len()]
    }

    /// Whether the focused field takes typed text.
    pub fn text_focus(&self) -> bool {
        matches!(
            self.focus,
            Field::Days | Field::Csr | Field::CommonName | Field::Name
        )
    }

    pub fn ctx(&self) -> Ctx {
        match self.focus {
            Field::Csr => Ctx::FormCsr,
            Field::CommonName | Field::Name => Ctx::FormText,
            _ => Ctx::Form,
        }
    }

    /// The error to show beside a field: once the field was edited, or
    /// after a submit was tried.
    pub fn error(&self, f: Field) -> Option<&EsaError> {
        if !(self.submit_tried || self.touched.contains(&f)) {
            return None;
        }
        self.errors.iter().find(|(g, _)| *g == f).map(|(_, e)| e)
    }

    fn touch(&mut self, f: Field) {
        if !self.touched.contains(&f) {
            self.touched.push(f);
        }
    }

    pub fn focus_step(&mut self, forward: bool) {
        let fields = self.fields();
        let i = fields.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = fields.len();
        let j = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.focus = fields[j];
    }

    /// ←/→/Space: the next or previous choice, or a ValidityDays preset.
    pub fn cycle(&mut self, forward: bool, rules: &InputRules) {
        match self.focus {
            Field::Site if !self.sites.is_empty() => {
                let n = self.sites.len();
                self.site = if forward {
                    (self.site + 1) % n
                } else {
                    (self.site + n - 1) % n
                };
            }
            Field::Source => {
                self.source = match self.source {
                    Source::Generate => Source::Csr,
                    Source::Csr => Source::Generate,
                };
            }
            Field::KeyType => {
                let n = PkeyType::SPELLINGS.len();
                self.key_type_chosen = true;
                self.key_type = if forward {
                    (self.key_type + 1) % n
                } else {
                    (self.key_type + n - 1) % n
                };
            }
            Field::Days => {
                let now: Option<u32> = self.days.value().trim().parse().ok();
                let next = match (now, forward) {
                    (Some(d), true) => PRESETS.iter().find(|p| **p > d),
                    (Some(d), false) => PRESETS.iter().rev().find(|p| **p < d),
                    (None, _) => PRESETS.iter().find(|p| **p == 365),
                };
                if let Some(p) = next {
                    self.days.set(&p.to_string());
                    self.touch(Field::Days);
                }
            }
            _ => return,
        }
        self.form_error = None;
        self.revalidate(rules);
    }

    /// A key typed into the focused field.
    pub fn edit(&mut self, e: Edit, rules: &InputRules) {
        let changed = match self.focus {
            Field::Days if matches!(e, Edit::Char(c) if !c.is_ascii_digit()) => false,
            Field::Days => self.days.apply(e),
            Field::CommonName => self.common_name.apply(e),
            Field::Name => self.name.apply(e),
            Field::Csr => self.csr.apply(e),
            _ => false,
        };
        if changed {
            self.changed(self.focus, rules);
        }
    }

    /// The CSR field holds a complete, valid CSR (Enter then issues).
    pub fn csr_complete(&self) -> bool {
        self.source == Source::Csr && self.csr_preview.is_some()
    }

    pub fn newline(&mut self, rules: &InputRules) {
        if self.focus == Field::Csr && self.csr.newline() {
            self.changed(Field::Csr, rules);
        }
    }

    pub fn clear_csr(&mut self, rules: &InputRules) {
        self.csr.set("");
        self.changed(Field::Csr, rules);
    }

    fn changed(&mut self, f: Field, rules: &InputRules) {
        self.touch(f);
        self.form_error = None;
        self.revalidate(rules);
    }

    /// A bracketed paste. A PEM CSR switches the form to CSR mode wherever
    /// the focus was.
    pub fn paste(&mut self, raw: &str, rules: &InputRules) -> Pasted {
        let text = normalize_newlines(raw);
        if looks_like_csr(&text) {
            self.source = Source::Csr;
            self.focus = Field::Csr;
            let mut pem = text.trim().to_owned();
            pem.push('\n');
            self.csr.set(&pem);
            self.changed(Field::Csr, rules);
            // Nobody types a PEM: after a valid one, Enter issues.
            if self.csr_complete() {
                self.focus = Field::Submit;
            }
            return Pasted::Csr;
        }
        let one_line = text.trim_end_matches('\n');
        let (dropped, limit) = match self.focus {
            Field::Csr => {
                self.csr.push_str(&text);
                (0, 0)
            }
            Field::Days => (self.days.insert_str(&digits(one_line)), DAYS_MAX_CHARS),
            Field::CommonName => (self.common_name.insert_str(one_line), MAX_COMMON_NAME_CHARS),
            Field::Name => (self.name.insert_str(one_line), MAX_NAME_CHARS),
            _ => return Pasted::Ignored,
        };
        self.changed(self.focus, rules);
        if dropped > 0 {
            return Pasted::Cut { limit };
        }
        Pasted::Field
    }

    /// Runs every field's check; errors are kept for display.
    pub fn revalidate(&mut self, rules: &InputRules) {
        let mut errors = Vec::new();
        let site = self.site_id().map(|id| id.to_string());
        if let Err(e) = rules.site_id(site.as_deref()) {
            errors.push((Field::Site, e));
        }
        if let Err(e) = rules.validity_days(Some(self.days.value())) {
            errors.push((Field::Days, e));
        }
        self.csr_preview = None;
        match self.source {
            Source::Generate => {
                if let Err(e) = rules.pkey_type(Some(self.key_spelling())) {
                    errors.push((Field::KeyType, e));
                }
            }
            Source::Csr => match input::csr(self.csr_text().as_bytes()) {
                Ok(p) => {
                    self.csr_preview = Some(CsrPreview {
                        subject: sanitize(&p.subject_display),
                        key: p.key_algorithm.label(),
                        sans: p.san_strings.iter().map(|s| sanitize(s)).collect(),
                        has_cn: p.common_name.is_some(),
                    })
                }
                Err(e) => errors.push((Field::Csr, e)),
            },
        }
        if let Err(e) = input::common_name(Some(self.common_name.value())) {
            errors.push((Field::CommonName, e));
        }
        if let Err(e) = input::name(Some(self.name.value())) {
            errors.push((Field::Name, e));
        }
        self.errors = errors;
    }

    /// The CSR as checked and sent: blank lines inside the PEM (doubled
    /// line ends of a paste, or Enter typed twice) dropped.
    fn csr_text(&self) -> String {
        tidy_pem(self.csr.text())
    }

    /// The request as the CLI would build it from the same inputs.
    pub fn request(&self) -> CreateRequest {
        let csr = self.source == Source::Csr;
        CreateRequest {
            site_id: self.site_id().map(|id| id.to_string()),
            validity_days: Some(self.days.value().to_owned()),
            pkey_type: (!csr).then(|| self.key_spelling().to_owned()),
            csr: csr.then(|| self.csr_text().into_bytes()),
            common_name: Some(self.common_name.value().to_owned()),
            name: Some(self.name.value().to_owned()),
        }
    }

    /// Enter/Ctrl-S: the validated request, or `None` with the errors
    /// shown and the focus on the first bad field.
    pub fn submit(&mut self, rules: &InputRules) -> Option<(u64, CreateRequest)> {
        self.submit_tried = true;
        self.form_error = None;
        self.revalidate(rules);
        let fields = self.fields();
        if let Some(f) = fields
            .iter()
            .find(|f| self.errors.iter().any(|(g, _)| g == *f))
        {
            self.focus = *f;
            return None;
        }
        // Every field passed its rule (the backend applies them again).
        let site = self.site_id()?;
        Some((site, self.request()))
    }

    /// Why a submit did not go ahead, for the status line: the field the
    /// focus went to and its error code, or the form's own error.
    pub fn refusal(&self) -> Option<String> {
        if let Some(e) = self.error(self.focus) {
            return Some(format!(
                "Not issued: check {} ({})",
                self.focus.label(),
                e.code
            ));
        }
        self.form_error
            .as_ref()
            .map(|e| format!("Not issued: [{}] {}", e.code, sanitize(&e.message)))
    }

    /// An error from issuing: beside its field when it has one.
    pub fn fail(&mut self, e: EsaError) {
        self.submitting = None;
        self.submit_tried = true;
        match field_of(e.code) {
            Some(f) => {
                self.errors.retain(|(g, _)| *g != f);
                self.errors.push((f, e));
                self.focus = f;
            }
            None => self.form_error = Some(e),
        }
    }
}

impl App {
    pub(in crate::tui) fn open_form(&mut self) {
        let site = self.selected_site().map(|s| s.site_id);
        let form = IssueForm::new(&self.rules, &self.sites, site);
        self.screen = Screen::Form(Box::new(form));
    }

    pub(in crate::tui) fn form_command(&mut self, mut f: Box<IssueForm>, cmd: Cmd) -> Screen {
        if f.submitting.is_some() {
            if cmd == Cmd::Back {
                self.warn("Issuing is under way and cannot be interrupted".into());
            }
            return Screen::Form(f);
        }
        match cmd {
            Cmd::Back => {
                self.info("Left the form; nothing was issued".into());
                return Screen::Main;
            }
            Cmd::FocusNext => f.focus_step(true),
            Cmd::FocusPrev => f.focus_step(false),
            Cmd::Left => f.cycle(false, &self.rules),
            Cmd::Right | Cmd::Toggle => f.cycle(true, &self.rules),
            // Enter in the CSR field grows the PEM only while it is being
            // typed: once it is a complete, valid CSR, Enter issues.
            Cmd::Newline if !f.csr_complete() => f.newline(&self.rules),
            Cmd::ClearField => f.clear_csr(&self.rules),
            Cmd::Submit | Cmd::Newline => {
                if let Some(why) = self.rules_missing() {
                    self.warn(why);
                    return Screen::Form(f);
                }
                if let Some((site, req)) = f.submit(&self.rules) {
                    // The form is the screen again once this returns.
                    self.screen = Screen::Form(f);
                    self.start_job(Job::Issue(Box::new(IssueJob { site, req })));
                    return std::mem::replace(&mut self.screen, Screen::Main);
                }
                // The focus is on the first bad field; say which.
                if let Some(why) = f.refusal() {
                    self.warn(why);
                }
            }
            _ => {}
        }
        Screen::Form(f)
    }
}
