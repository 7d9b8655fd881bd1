//! The issue form: one row per field, its error (the ESA code and
//! message) right under it, and the Issue button. The focused field's
//! label is REVERSED; text fields are UNDERLINED so they read as inputs
//! without colour.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::error::EsaError;
use crate::pki::PkeyType;
use crate::tui::app::App;
use crate::tui::input::TextInput;
use crate::tui::screen::issue_form::{Field, IssueForm, PRESETS, Source, key_type_label};
use crate::tui::ui::text::{fit, pad, width, wrap};

const LABEL_W: usize = 16;
/// The ValidityDays box: it shows `box - 1` characters and the cursor,
/// so it holds every character the field takes.
const DAYS_BOX_W: usize = 8;
const _: () = assert!(DAYS_BOX_W > crate::tui::screen::issue_form::DAYS_MAX_CHARS + 1);
/// Lines of the CSR box.
const CSR_LINES: usize = 6;

struct Builder<'a> {
    app: &'a App,
    form: &'a IssueForm,
    w: usize,
    lines: Vec<Line<'static>>,
    /// (line, column) of the text cursor.
    cursor: Option<(usize, usize)>,
    /// Lines of the focused field, to scroll it into view.
    focus_span: (usize, usize),
}

impl Builder<'_> {
    fn label(&self, f: Field, text: &str) -> Span<'static> {
        let t = self.app.theme;
        let focused = self.form.focus == f && self.form.submitting.is_none();
        let mark = if focused { "›" } else { " " };
        let style = if focused { t.selected() } else { t.label() };
        Span::styled(pad(&format!("{mark} {text}"), LABEL_W - 1), style)
    }

    fn start(&mut self, f: Field) -> usize {
        let at = self.lines.len();
        if self.form.focus == f {
            self.focus_span.0 = at;
        }
        at
    }

    fn end(&mut self, f: Field) {
        if self.form.focus == f {
            self.focus_span.1 = self.lines.len();
        }
    }

    fn value_w(&self) -> usize {
        self.w.saturating_sub(LABEL_W)
    }

    fn choice(&mut self, f: Field, label: &str, value: &str, note: &str) {
        let t = self.app.theme;
        self.start(f);
        let value = format!("‹ {value} ›");
        let note_room = self.value_w().saturating_sub(width(&value) + 2);
        let mut spans = vec![self.label(f, label), Span::raw(" ")];
        spans.push(Span::styled(fit(&value, self.value_w()), t.marked()));
        if note_room > 3 && !note.is_empty() {
            spans.push(Span::styled(format!("  {}", fit(note, note_room)), t.dim()));
        }
        self.lines.push(Line::from(spans));
        self.error(f);
        self.end(f);
    }

    fn text(&mut self, f: Field, label: &str, input: &TextInput, box_w: usize, note: &str) {
        let t = self.app.theme;
        let at = self.start(f);
        let box_w = box_w.min(self.value_w()).max(1);
        let (shown, cx) = input.window(u16::try_from(box_w - 1).unwrap_or(u16::MAX));
        let shown = crate::text::sanitize(&shown);
        let field_style = Style::new().add_modifier(Modifier::UNDERLINED);
        let mut spans = vec![
            self.label(f, label),
            Span::raw(" "),
            Span::styled(pad(&shown, box_w), field_style),
        ];
        let note_room = self.value_w().saturating_sub(box_w + 2);
        if note_room > 3 && !note.is_empty() {
            spans.push(Span::styled(format!("  {}", fit(note, note_room)), t.dim()));
        }
        self.lines.push(Line::from(spans));
        if self.form.focus == f {
            self.cursor = Some((at, LABEL_W + usize::from(cx)));
        }
        self.error(f);
        self.end(f);
    }

    /// The field's error, wrapped under the value.
    fn error(&mut self, f: Field) {
        if let Some(e) = self.form.error(f) {
            let e = e.clone();
            self.error_lines(&e);
        }
    }

    fn error_lines(&mut self, e: &EsaError) {
        let t = self.app.theme;
        let text = format!("✗ {}: {}", e.code, crate::text::sanitize(&e.message));
        for l in wrap(&text, self.value_w().max(10)) {
            self.lines.push(Line::from(vec![
                Span::raw(" ".repeat(LABEL_W)),
                Span::styled(l, t.error()),
            ]));
        }
    }

    fn csr(&mut self) {
        let t = self.app.theme;
        let at = self.start(Field::Csr);
        let text = self.form.csr.text();
        let all: Vec<&str> = text.lines().collect();
        let vw = self.value_w().saturating_sub(2);
        let mut shown: Vec<String> = if all.is_empty() {
            vec![]
        } else if all.len() <= CSR_LINES {
            all.iter().map(|l| l.to_string()).collect()
        } else {
            let tail = CSR_LINES - 2;
            let mut v = vec![all[0].to_string()];
            v.push(format!("… {} more lines …", all.len() - 1 - tail));
            v.extend(all[all.len() - tail..].iter().map(|l| l.to_string()));
            v
        };
        let ends_open = text.ends_with('\n') || text.is_empty();
        if shown.is_empty() {
            shown.push(String::new());
        }
        for (i, l) in shown.iter().enumerate() {
            let label = if i == 0 {
                self.label(Field::Csr, "CSR")
            } else {
                Span::raw(" ".repeat(LABEL_W - 1))
            };
            let body = if all.is_empty() {
                Span::styled(
                    fit("paste a PEM CSR (or type it; Ctrl-U clears)", vw),
                    t.dim(),
                )
            } else {
                Span::raw(fit(&crate::text::sanitize(l), vw))
            };
            self.lines
                .push(Line::from(vec![label, Span::styled(" ┆", t.dim()), body]));
        }
        if self.form.focus == Field::Csr {
            // The cursor sits at the end of the text.
            let (row, col) = if ends_open && !all.is_empty() {
                self.lines.push(Line::from(vec![
                    Span::raw(" ".repeat(LABEL_W - 1)),
                    Span::styled(" ┆", t.dim()),
                ]));
                (self.lines.len() - 1, 0)
            } else {
                let last = shown.last().map_or(0, |l| width(l).min(vw));
                (self.lines.len() - 1, if all.is_empty() { 0 } else { last })
            };
            let _ = at;
            self.cursor = Some((row, LABEL_W + 1 + col));
        }
        match (&self.form.csr_preview, self.form.error(Field::Csr)) {
            (Some(p), _) => {
                let mut text = vec![format!("✓ {} · {}", p.subject, p.key)];
                if !p.sans.is_empty() {
                    text.push(format!("  SAN {}", p.sans.join(", ")));
                }
                for part in text {
                    for l in wrap(&part, self.value_w().max(10)) {
                        self.lines.push(Line::from(vec![
                            Span::raw(" ".repeat(LABEL_W)),
                            Span::styled(l, t.ok()),
                        ]));
                    }
                }
            }
            (None, Some(e)) => {
                let e = e.clone();
                self.error_lines(&e);
            }
            (None, None) => {}
        }
        self.end(Field::Csr);
    }

    fn submit(&mut self) {
        let t = self.app.theme;
        self.start(Field::Submit);
        if let Some(e) = &self.form.form_error {
            let e = e.clone();
            self.error_lines(&e);
        }
        let line = match self.form.submitting {
            Some(started) => {
                let what = match self.form.source {
                    Source::Csr => "Signing your CSR".to_string(),
                    Source::Generate => format!(
                        "Generating the {} key and signing",
                        PkeyType::parse(self.form.key_spelling()).map_or("", |k| k.label())
                    ),
                };
                let secs = started.elapsed().as_secs_f32();
                Line::from(vec![
                    Span::raw(" ".repeat(LABEL_W)),
                    Span::styled(
                        format!("{} {what}… {secs:.1}s", crate::tui::ui::spinner(self.app)),
                        t.warn(),
                    ),
                ])
            }
            None => {
                let style = if self.form.focus == Field::Submit {
                    t.selected()
                } else {
                    t.label()
                };
                let button = "[ Issue certificate ]";
                let room = self.w.saturating_sub(LABEL_W + width(button));
                let note = if room >= 18 { "  Enter or Ctrl-S" } else { "" };
                Line::from(vec![
                    Span::raw(" ".repeat(LABEL_W)),
                    Span::styled(button, style),
                    Span::styled(note, t.dim()),
                ])
            }
        };
        self.lines.push(line);
        self.end(Field::Submit);
    }
}

fn days_note(form: &IssueForm) -> String {
    let presets: Vec<String> = PRESETS
        .iter()
        .map(|p| {
            if form.days.value().trim() == p.to_string() {
                format!("[{p}]")
            } else {
                p.to_string()
            }
        })
        .collect();
    format!("←/→ {}", presets.join(" "))
}

pub fn draw(frame: &mut Frame, app: &App, form: &IssueForm, area: Rect) {
    let t = app.theme;
    let block = Block::bordered()
        .title(Line::styled(" New client certificate ", t.label()))
        .border_style(t.border(true));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let mut b = Builder {
        app,
        form,
        w: usize::from(inner.width),
        lines: Vec::new(),
        cursor: None,
        focus_span: (0, 0),
    };
    let site = form
        .sites
        .get(form.site)
        .map(|(id, name)| format!("{name} · {id}"))
        .unwrap_or_else(|| "no site in the config".into());
    b.choice(Field::Site, "Site", &site, "");
    let (source, source_note) = match form.source {
        Source::Generate => ("Generate a key pair", "or: use my CSR"),
        Source::Csr => ("Use my CSR", "the key stays with you"),
    };
    b.choice(Field::Source, "Key source", source, source_note);
    let note = days_note(form);
    b.text(Field::Days, "ValidityDays", &form.days, DAYS_BOX_W, &note);
    let cn_note = match form.source {
        Source::Generate => {
            let spelling = form.key_spelling();
            let note = if spelling == "RSA_4096" {
                "about a second to generate"
            } else {
                ""
            };
            b.choice(Field::KeyType, "Key type", &key_type_label(spelling), note);
            "default: the certificate Id"
        }
        Source::Csr => {
            b.csr();
            if form.csr_preview.as_ref().is_some_and(|p| p.has_cn) {
                "ignored: the CSR's CN wins"
            } else {
                "used if the CSR has no CN"
            }
        }
    };
    let box_w = 28;
    b.text(
        Field::CommonName,
        "CommonName",
        &form.common_name,
        box_w,
        cn_note,
    );
    b.text(
        Field::Name,
        "Name",
        &form.name,
        box_w,
        "a label shown in lists",
    );
    b.lines.push(Line::raw(""));
    b.submit();

    let h = usize::from(inner.height);
    let (fs, fe) = b.focus_span;
    let mut scroll = form.scroll.get();
    if fe > scroll + h {
        scroll = fe.saturating_sub(h);
    }
    if fs < scroll {
        scroll = fs;
    }
    scroll = scroll.min(b.lines.len().saturating_sub(h));
    form.scroll.set(scroll);
    let cursor = b.cursor;
    let visible: Vec<Line> = b.lines.into_iter().skip(scroll).take(h).collect();
    frame.render_widget(Paragraph::new(visible), inner);
    if app.text_focus()
        && let Some((row, col)) = cursor
        && row >= scroll
        && row < scroll + h
        && col < usize::from(inner.width)
    {
        let x = inner.x + u16::try_from(col).unwrap_or(0);
        let y = inner.y + u16::try_from(row - scroll).unwrap_or(0);
        frame.set_cursor_position((x, y));
    }
}
