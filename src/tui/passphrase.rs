//! The CA passphrase popup (`[ca] protect_key = true`): asked before an
//! operation that signs for a site whose CA key is encrypted (issue,
//! renew, revoke, activate, delete: the last three sign the CRL), and
//! again when the service refused the passphrase it had. The operation
//! waits in the popup and starts once a passphrase is given; `Esc` drops
//! it and nothing changes.
//!
//! What is typed lives in zeroizing buffers, is drawn as one `•` per
//! character and is never copied anywhere but into the service.

use crate::base::limits::MAX_PASSPHRASE_CHARS;
use zeroize::{Zeroize, Zeroizing};

use crate::service::{PassphrasePurpose, Secret, check_ca_passphrase};

use super::input::Edit;
use super::worker::Job;

pub struct PassAsk {
    pub site_id: u64,
    /// Sanitised site name.
    pub site_name: String,
    /// `New`: the site has no CA yet and its key will be encrypted with
    /// this passphrase (typed twice).
    pub purpose: PassphrasePurpose,
    first: Zeroizing<String>,
    second: Zeroizing<String>,
    /// The focus is on the repeat field (`New` only).
    pub on_second: bool,
    /// Why the popup is (again) open: a refused passphrase, a mismatch.
    pub error: Option<String>,
    /// What runs once the passphrase is set.
    pub job: Job,
}

impl std::fmt::Debug for PassAsk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassAsk")
            .field("site_id", &self.site_id)
            .field("purpose", &self.purpose)
            .field("typed", &"[redacted]")
            .field("error", &self.error)
            .field("job", &self.job)
            .finish()
    }
}

impl PassAsk {
    pub fn new(site_id: u64, site_name: &str, purpose: PassphrasePurpose, job: Job) -> PassAsk {
        PassAsk {
            site_id,
            site_name: site_name.to_owned(),
            purpose,
            first: Zeroizing::new(String::new()),
            second: Zeroizing::new(String::new()),
            on_second: false,
            error: None,
            job,
        }
    }

    /// Characters typed in each field (what the popup draws as dots).
    pub fn lengths(&self) -> (usize, usize) {
        (self.first.chars().count(), self.second.chars().count())
    }

    fn field(&mut self) -> &mut Zeroizing<String> {
        if self.on_second {
            &mut self.second
        } else {
            &mut self.first
        }
    }

    /// Typing: characters are appended, Backspace takes the last one,
    /// Ctrl-U / Ctrl-W empty the field. The cursor stays at the end.
    pub fn edit(&mut self, e: Edit) {
        let field = self.field();
        match e {
            Edit::Char(c) => push_bounded(field, std::iter::once(c)),
            Edit::Backspace => {
                field.pop();
            }
            Edit::Clear | Edit::DeleteWord => field.clear(),
            _ => {}
        }
    }

    /// A paste: one line (a trailing newline, as a password manager
    /// copies it, is dropped; other control characters are refused when
    /// submitting).
    pub fn paste(&mut self, text: &str) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        push_bounded(self.field(), text.chars());
    }

    pub fn focus_step(&mut self) {
        if self.purpose == PassphrasePurpose::New {
            self.on_second = !self.on_second;
        }
    }

    /// The passphrase to hand to the service, or why not (the message
    /// never quotes what was typed).
    pub fn take(&mut self) -> Result<Secret, String> {
        if let Err(e) = check_ca_passphrase(&self.first) {
            self.on_second = false;
            return Err(e.message);
        }
        if self.purpose == PassphrasePurpose::New {
            if !self.on_second && self.second.is_empty() {
                self.on_second = true;
                return Err("type it again to confirm".into());
            }
            if *self.first != *self.second {
                self.second.clear();
                self.on_second = true;
                return Err("the two passphrases differ; type it again".into());
            }
        }
        Ok(Secret(Zeroizing::new(self.first.to_string())))
    }
}

/// Appends up to one character past the longest passphrase (so that
/// submitting says it is too long), however much is pasted.
fn push_bounded(field: &mut String, chars: impl Iterator<Item = char>) {
    let room = (MAX_PASSPHRASE_CHARS + 1).saturating_sub(field.chars().count());
    // Grows by hand: a reallocation by `push` would leave the old buffer
    // behind unwiped.
    for c in chars.take(room) {
        if field.len() + c.len_utf8() > field.capacity() {
            let mut bigger = String::with_capacity((field.capacity() * 2).max(64));
            bigger.push_str(field);
            field.zeroize();
            *field = bigger;
        }
        field.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(purpose: PassphrasePurpose) -> PassAsk {
        PassAsk::new(1, "example.com", purpose, Job::Load { site: None })
    }

    fn typ(a: &mut PassAsk, s: &str) {
        for c in s.chars() {
            a.edit(Edit::Char(c));
        }
    }

    #[test]
    fn unlock_needs_one_nonempty_line() {
        let mut a = ask(PassphrasePurpose::Unlock);
        assert!(a.take().unwrap_err().contains("empty"));
        typ(&mut a, "correct horsE");
        a.edit(Edit::Backspace);
        a.focus_step(); // one field: stays
        assert!(!a.on_second);
        assert_eq!(a.take().unwrap().expose(), "correct hors");
        a.edit(Edit::Clear);
        a.paste("from a manager\n");
        assert_eq!(a.take().unwrap().expose(), "from a manager");
        a.edit(Edit::Clear);
        a.paste("two\nlines");
        let e = a.take().unwrap_err();
        assert!(
            e.contains("control characters") && !e.contains("two"),
            "{e}"
        );
        a.edit(Edit::Clear);
        a.paste(&"x".repeat(1 << 20));
        assert_eq!(a.lengths().0, MAX_PASSPHRASE_CHARS + 1);
        assert!(a.take().unwrap_err().contains("longer"));
    }

    #[test]
    fn a_new_passphrase_is_typed_twice() {
        let mut a = ask(PassphrasePurpose::New);
        typ(&mut a, "s3cret-one");
        assert!(a.take().unwrap_err().contains("again"));
        assert!(a.on_second);
        typ(&mut a, "s3cret-two");
        let e = a.take().unwrap_err();
        assert!(e.contains("differ") && !e.contains("s3cret"), "{e}");
        assert_eq!(a.lengths(), (10, 0));
        typ(&mut a, "s3cret-one");
        assert_eq!(a.take().unwrap().expose(), "s3cret-one");
    }

    #[test]
    fn debug_does_not_show_what_was_typed() {
        let mut a = ask(PassphrasePurpose::Unlock);
        typ(&mut a, "hunter2");
        let d = format!("{a:?}");
        assert!(!d.contains("hunter2"), "{d}");
    }
}
