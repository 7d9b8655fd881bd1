//! The event channel: terminal events from a reader thread and results
//! from workers arrive on one `std::sync::mpsc` channel, so the loop waits
//! in one place and redraws after each batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::Duration;

use ratatui::crossterm::event;

use super::worker::Done;
use crate::error::EsaError;

// One message per job or key press: the size of the biggest variant
// does not matter here.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Event {
    Term(event::Event),
    /// A job's result, tagged with the desk generation it ran on.
    Done(u64, Done),
    /// A job that could not run: its thread did not start, or it
    /// panicked.
    WorkerFailed(u64, EsaError),
    /// The terminal cannot be read any more.
    InputGone(String),
}

/// Reads terminal events on its own thread until dropped.
pub struct Input {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Input {
    pub fn start(tx: Sender<Event>) -> std::io::Result<Input> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("esa-certs-input".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    // Poll with a timeout so the thread notices `stop`.
                    let ready = match event::poll(Duration::from_millis(50)) {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = tx.send(Event::InputGone(e.to_string()));
                            return;
                        }
                    };
                    if !ready {
                        continue;
                    }
                    let sent = match event::read() {
                        Ok(ev) => tx.send(Event::Term(ev)),
                        Err(e) => {
                            let _ = tx.send(Event::InputGone(e.to_string()));
                            return;
                        }
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            })?;
        Ok(Input {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
