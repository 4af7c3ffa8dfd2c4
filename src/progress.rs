//! Messages to people while a run goes: a progress bar on a terminal, bad-input lines on stderr
//! (capped, the rest counted), and nothing else when not on a terminal.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::sanitize::for_terminal;

/// Live counters shared by the stages (progress bar and summary).
#[derive(Debug, Default)]
pub struct Counters {
    /// Objects parsed.
    pub objects: AtomicU64,
    /// Events parsed.
    pub events: AtomicU64,
    /// Compressed bytes.
    pub bytes_in: AtomicU64,
    /// Decompressed bytes.
    pub bytes_decoded: AtomicU64,
}

/// Bad-input lines printed before the rest are only counted.
pub const MAX_MESSAGES: u64 = 50;

/// Prints progress and bad-input messages.
pub struct Reporter {
    bar: Option<ProgressBar>,
    printed: AtomicU64,
    suppressed: AtomicU64,
    stop: Arc<AtomicBool>,
}

impl Reporter {
    /// A reporter; the bar is drawn only when asked for and stderr is a terminal.
    pub fn new(progress: bool) -> Self {
        let bar = (progress && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(5));
            b.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                    .expect("valid template"),
            );
            b
        });
        Reporter {
            bar,
            printed: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Prints one bad-input message (log-derived text is made safe for the terminal).
    pub fn bad_input(&self, msg: &str) {
        if self.printed.fetch_add(1, Ordering::Relaxed) >= MAX_MESSAGES {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.message(&format!("warning: {}", for_terminal(msg)));
    }

    /// Prints a line above the bar.
    pub fn message(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(msg),
            None => eprintln!("pipewarden: {msg}"),
        }
    }

    /// Messages not printed because of the cap.
    pub fn suppressed(&self) -> u64 {
        self.suppressed.load(Ordering::Relaxed)
    }

    /// Starts updating the bar from the counters.
    pub fn start_ticker(&self, c: Arc<Counters>) -> Option<std::thread::JoinHandle<()>> {
        let bar = self.bar.clone()?;
        let stop = self.stop.clone();
        let start = Instant::now();
        Some(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let secs = start.elapsed().as_secs_f64().max(1e-3);
                let ev = c.events.load(Ordering::Relaxed);
                bar.set_message(format!(
                    "{} objects, {} events ({:.0}/s), {:.1} MB/s",
                    c.objects.load(Ordering::Relaxed),
                    ev,
                    ev as f64 / secs,
                    c.bytes_decoded.load(Ordering::Relaxed) as f64 / secs / 1e6
                ));
                bar.tick();
                std::thread::sleep(Duration::from_millis(200));
            }
        }))
    }

    /// Stops and clears the bar.
    pub fn finish(&self, ticker: Option<std::thread::JoinHandle<()>>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = ticker {
            let _ = t.join();
        }
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
