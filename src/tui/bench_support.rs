//! The smallest handle on the real TUI that a benchmark needs
//! (`benches/tui.rs`): the app state, driven by key events and drawn on
//! ratatui's `TestBackend`, with the work the runtime hands to worker
//! threads (the store read) done on the calling thread instead. Everything
//! else is the app's own code path: the same `App::new`/`start`, key map,
//! update function and drawing as `esa-certs` in a terminal.
//!
//! Not a stable API: it exists so the performance claims in the README are
//! measured, not guessed.

use std::collections::VecDeque;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};

use crate::service::Service;

use super::app::{App, Effect};
use super::theme::Theme;
use super::{ui, worker};

/// The app on a `width`×`height` test terminal.
pub struct BenchTui {
    app: App,
    terminal: Terminal<TestBackend>,
    /// Effects taken from the app and not yet run.
    queue: VecDeque<Effect>,
}

impl BenchTui {
    /// Starts the app on `service` as `esa-certs` does. The first store
    /// read is queued, as for a worker: [`BenchTui::run_job`] or
    /// [`BenchTui::settle`] runs it.
    pub fn start(service: Service, width: u16, height: u16) -> BenchTui {
        let mut app = App::new(std::sync::Arc::new(service), Theme::from_env());
        app.start(None);
        let terminal =
            Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| match e {});
        BenchTui {
            app,
            terminal,
            queue: VecDeque::new(),
        }
    }

    /// Runs the next queued job here and hands its result to the app, as
    /// the runtime does when a worker reports; returns false when none is
    /// queued. (The first load of a store with several sites is one job
    /// per site, the selected one first.)
    pub fn run_job(&mut self) -> bool {
        self.queue.extend(self.app.take_effects());
        while let Some(e) = self.queue.pop_front() {
            if let Effect::Job(job) = e {
                let done = worker::run(self.app.desk(), job, &|_| {});
                self.app.done(done);
                return true;
            }
        }
        false
    }

    /// [`BenchTui::run_job`], timing its two halves apart: the job as a
    /// worker runs it (off the screen's thread in `esa-certs`), and the
    /// app taking its result (on the screen's thread: while it runs, keys
    /// wait). `None` when no job is queued.
    pub fn run_job_split(&mut self) -> Option<(std::time::Duration, std::time::Duration)> {
        self.queue.extend(self.app.take_effects());
        while let Some(e) = self.queue.pop_front() {
            if let Effect::Job(job) = e {
                let t = std::time::Instant::now();
                let done = worker::run(self.app.desk(), job, &|_| {});
                let worker = t.elapsed();
                let t = std::time::Instant::now();
                self.app.done(done);
                return Some((worker, t.elapsed()));
            }
        }
        None
    }

    /// Whether every site has been read (not only the first one).
    pub fn fully_loaded(&self) -> bool {
        self.app.load.loaded && self.app.load.unread.is_empty() && !self.app.load.in_flight
    }

    /// Runs the app's pending jobs here, as the workers would; copies are
    /// dropped.
    pub fn settle(&mut self) {
        while self.run_job() {}
    }

    /// One key press, through the key map, then its jobs.
    pub fn key(&mut self, code: KeyCode) {
        let m = match code {
            KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
            _ => KeyModifiers::NONE,
        };
        self.app
            .handle_event(&TermEvent::Key(KeyEvent::new(code, m)));
        self.settle();
    }

    /// One key press, through the key map; the jobs it queues wait (for
    /// [`BenchTui::run_job`]), as a worker's would while the screen goes on.
    pub fn key_alone(&mut self, code: KeyCode) {
        self.app
            .handle_event(&TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// A bracketed paste, then its jobs.
    pub fn paste(&mut self, text: &str) {
        self.app.handle_event(&TermEvent::Paste(text.to_owned()));
        self.settle();
    }

    /// Draws one frame.
    pub fn draw(&mut self) {
        let app = &self.app;
        // TestBackend cannot fail.
        let _ = self.terminal.draw(|f| ui::draw(f, app));
    }

    /// Certificates in the table's view (the selected site, filtered).
    pub fn view_len(&self) -> usize {
        self.app.table.len()
    }

    /// Whether the last frame shows the table's rows: the selected
    /// certificate's row is on screen (not "Reading the store…").
    pub fn shows_rows(&self) -> bool {
        let Some(row) = self.app.table.selected_row() else {
            return false;
        };
        let start: String = row.label().chars().take(10).collect();
        self.screen().contains(&format!("› {start}"))
    }

    /// The last frame as text.
    pub fn screen(&self) -> String {
        self.terminal.backend().to_string()
    }
}
