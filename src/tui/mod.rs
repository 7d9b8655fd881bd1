//! The interactive terminal UI: a thin front end over [`crate::service`].
//!
//! Shape (after ratatui's event-driven template and csvlens): keys become
//! [`action::Action`]s through one key map ([`keys`]); [`app::App::step`]
//! updates the state; [`ui::draw`] draws it as a pure function of the
//! state; slow work (reading a big store, key generation, lifecycle
//! operations that wait for the store lock) runs on worker threads that
//! report on the same channel as the terminal ([`event`]).
//!
//! The terminal is restored on every way out: normal quit, error, and
//! panic (the hook restores first, then reports).

/// The backend a desk drives: the local store, or a remote ESA endpoint.
pub type Desk = std::sync::Arc<dyn crate::api::Backend>;

mod action;
mod app;
pub mod bench_support;
mod clipboard;
mod event;
mod input;
mod keys;
mod popup;
mod screen;
mod scroll;
mod theme;
mod ui;
mod worker;

#[cfg(test)]
mod tests;

use std::io::{self, IsTerminal, Stdout, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, EnableBracketedPaste, EnableFocusChange,
};
use ratatui::crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};

use crate::error::{ErrorCode, EsaError, EsaResult};

use action::Action;
use app::{App, Effect};
use clipboard::Clipboard;
use event::{Event, Input};
use screen::config_error::ConfigScreen;
pub use screen::config_error::{Opened, StartError};

/// How often the app ticks (spinner, status expiry, store polling).
const TICK: Duration = Duration::from_millis(100);

/// Runs the TUI until the operator quits. `open` reads the config and opens
/// the service; when it fails, the TUI shows why full-screen and calls it
/// again when the operator presses `r` (see [`startup`]).
pub fn run(mut open: impl FnMut() -> Result<Opened, StartError>) -> EsaResult<()> {
    let first = open();
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        // No screen to show it on: report a config error like a subcommand.
        first.map_err(EsaError::from)?;
        return Err(EsaError::new(
            ErrorCode::InvalidParameter,
            "the interactive UI needs a terminal; use a subcommand instead (esa-certs --help)",
        ));
    }
    let theme = theme::Theme::from_env();
    let mut term = TerminalGuard::enter().map_err(term_err)?;
    let (tx, rx) = mpsc::channel();
    let input = Input::start(tx.clone()).map_err(term_err)?;
    let result = (|| -> EsaResult<()> {
        let opened = match first {
            Ok(opened) => opened,
            Err(e) => {
                let screen = ConfigScreen::new(e, theme);
                fix_config(&mut term, &rx, screen, &mut open)?
            }
        };
        run_app(&mut term, &tx, &rx, opened, theme)
    })();
    drop(input);
    drop(term);
    result
}

/// The config-error screen until the config loads. Quitting there returns
/// the error, so the shell shows it (and the exit status) once the screen
/// is restored, as a subcommand would. No worker runs yet: only keys arrive.
fn fix_config(
    term: &mut TerminalGuard,
    rx: &mpsc::Receiver<Event>,
    mut screen: ConfigScreen,
    open: &mut impl FnMut() -> Result<Opened, StartError>,
) -> EsaResult<Opened> {
    loop {
        term.terminal
            .draw(|f| ui::draw_config_error(f, &screen))
            .map_err(term_err)?;
        let ev = rx
            .recv()
            .map_err(|_| EsaError::internal("the event channel closed"))?;
        let next = match ev {
            Event::Term(e) => screen.handle_event(&e),
            Event::InputGone(e) => {
                return Err(EsaError::internal(format!("cannot read the terminal: {e}")));
            }
            Event::Done(..) | Event::WorkerFailed(..) => screen::config_error::Next::Stay,
        };
        match next {
            screen::config_error::Next::Quit => return Err(screen.error.into()),
            screen::config_error::Next::Reload => {
                if let Some(opened) = screen.reload(open) {
                    return Ok(opened);
                }
            }
            screen::config_error::Next::Stay => {}
        }
    }
}

/// The app on a working service, until the operator quits.
fn run_app(
    term: &mut TerminalGuard,
    tx: &mpsc::Sender<Event>,
    rx: &mpsc::Receiver<Event>,
    opened: Opened,
    theme: theme::Theme,
) -> EsaResult<()> {
    let Opened {
        desk,
        created,
        remotes,
        mut switch,
    } = opened;
    let mut clipboard = Clipboard::start();
    let start = |desk: Desk, created: Option<PathBuf>, clipboard: &Clipboard| {
        let mut app = App::new(desk, theme);
        app.clipboard_info = clipboard.describe();
        app.remotes = remotes.clone();
        app.start(created);
        app
    };
    let mut app = start(desk, created, &clipboard);
    // Results of jobs started on a desk left since are dropped.
    let mut generation = 0u64;
    tracing::info!("TUI started");

    let result = (|| -> EsaResult<()> {
        let mut last_tick = Instant::now();
        let mut dirty = true;
        loop {
            for effect in app.take_effects() {
                dirty = true;
                match effect {
                    Effect::Job(job) => {
                        let tx = tx.clone();
                        let job_gen = generation;
                        worker::spawn(app.desk_handle(), job, move |r| {
                            let _ = tx.send(match r {
                                Ok(done) => Event::Done(job_gen, done),
                                Err(e) => Event::WorkerFailed(job_gen, e),
                            });
                        });
                    }
                    Effect::Switch(name) => match switch(name.as_deref()) {
                        Ok(desk) => {
                            generation += 1;
                            tracing::info!(desk = %desk.origin(), "switched desk");
                            app = start(desk, None, &clipboard);
                        }
                        Err(e) => app.switch_failed(e),
                    },
                    Effect::Copy(req) => {
                        let out =
                            clipboard.copy(&req.text, req.secret, term.terminal.backend_mut());
                        app.copied(&req.what, &out);
                    }
                }
            }
            if app.should_quit() {
                return Ok(());
            }
            if std::mem::take(&mut dirty) {
                term.terminal
                    .draw(|f| ui::draw(f, &app))
                    .map_err(term_err)?;
                #[cfg(debug_assertions)]
                test_panic();
            }
            // Wait for the next event or tick, then take everything queued
            // before drawing again (a paste as keys, a burst of results).
            let first = match rx.recv_timeout(TICK.saturating_sub(last_tick.elapsed())) {
                Ok(ev) => Some(ev),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(EsaError::internal("the event channel closed"));
                }
            };
            for ev in first.into_iter().chain(rx.try_iter()) {
                dirty = true;
                match ev {
                    Event::Term(mut e) => {
                        app.handle_event(&e);
                        // A paste may be a private key pasted by mistake.
                        if let ratatui::crossterm::event::Event::Paste(s) = &mut e {
                            zeroize::Zeroize::zeroize(s);
                        }
                    }
                    Event::Done(job_gen, d) if job_gen == generation => app.done(d),
                    Event::WorkerFailed(job_gen, e) if job_gen == generation => {
                        app.worker_failed(e)
                    }
                    Event::Done(..) | Event::WorkerFailed(..) => {}
                    Event::InputGone(e) => {
                        return Err(EsaError::internal(format!("cannot read the terminal: {e}")));
                    }
                }
            }
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                app.step(Action::Tick);
                dirty |= app.tick_needs_draw();
            }
        }
    })();
    tracing::info!(ok = result.is_ok(), "TUI stopped");
    result
}

fn term_err(e: io::Error) -> EsaError {
    EsaError::internal(format!("terminal: {e}"))
}

/// Raw mode, the alternate screen, bracketed paste and focus reports, for
/// as long as it lives. Dropping it, or a panic, restores the terminal.
struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        TERMINAL_TAKEN.store(true, Ordering::SeqCst);
        enable_raw_mode()?;
        let setup = execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableBracketedPaste,
            EnableFocusChange
        )
        .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match setup {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore_terminal();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Debug builds only: `ESA_CERTS_TEST_PANIC=after-first-draw` panics once
/// a frame is on screen, so a test can check that a panic restores the
/// terminal (tests/tui_e2e.rs).
#[cfg(debug_assertions)]
fn test_panic() {
    if std::env::var("ESA_CERTS_TEST_PANIC").as_deref() == Ok("after-first-draw") {
        panic!("ESA_CERTS_TEST_PANIC=after-first-draw: a test panic after the first frame");
    }
}

/// Whether the terminal is in the TUI's modes (restored once only: a
/// second restore would clear the normal screen, and the panic message).
static TERMINAL_TAKEN: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back as it was. Safe to call more than once.
fn restore_terminal() {
    if !TERMINAL_TAKEN.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableFocusChange,
        DisableBracketedPaste,
        // An empty alternate screen before leaving it: tmux (3.3), when the
        // pane was resized meanwhile, resizes the alternate screen back
        // on the way out and left part of the last frame on the normal
        // screen; with nothing on it, nothing can be left.
        cursor::MoveTo(0, 0),
        Clear(ClearType::All),
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = out.flush();
}

/// Restores the terminal before the default hook prints the panic, so the
/// message is readable and the shell usable.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A job's panic is caught on its thread and reported on screen:
        // the terminal stays the TUI's, and nothing is printed over it.
        if std::thread::current().name() == Some(worker::THREAD_NAME) {
            tracing::error!(panic = %info, "a TUI job panicked");
            return;
        }
        restore_terminal();
        tracing::error!(panic = %info, "the TUI panicked");
        previous(info);
    }));
}
