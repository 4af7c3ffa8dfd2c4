//! What `detect` judges: the plan (window, history, score threshold, suppressions) and the
//! window it gives over a lake, with the `${window_start}`-style placeholders it fills.

use chrono::{NaiveDate, Utc};

use super::suppress::Suppressions;
use crate::findings::Time;

/// What to judge and against what.
#[derive(Debug, Clone)]
pub struct DetectPlan {
    /// Days of history.
    pub baseline_days: i64,
    /// Days judged.
    pub window_days: i64,
    /// End of the window (exclusive): midnight after the last event when not given.
    pub until: Option<NaiveDate>,
    /// Lowest score reported.
    pub min_score: u32,
    /// Suppressions.
    pub suppressions: Suppressions,
    /// Today, for suppression expiry.
    pub today: NaiveDate,
}

impl Default for DetectPlan {
    fn default() -> Self {
        DetectPlan {
            baseline_days: 30,
            window_days: 1,
            until: None,
            min_score: 50,
            suppressions: Suppressions::default(),
            today: Utc::now().date_naive(),
        }
    }
}

/// The placeholders of the window that [`Window::fill`] writes into detect's queries.
pub const WINDOW_PLACEHOLDERS: &[&str] = &[
    "window_start",
    "window_end",
    "baseline_start",
    "window_start_date",
    "window_end_date",
    "baseline_start_date",
];

/// The window and history of a plan over a lake whose last event is `last_event` (µs).
pub struct Window {
    /// History start (µs).
    pub baseline_start: i64,
    /// Window start (µs).
    pub start: i64,
    /// Window end, exclusive (µs).
    pub end: i64,
}

const DAY_US: i64 = 86_400_000_000;

impl Window {
    /// The window of `plan` ending at `until` (or at the midnight after `last_event`).
    pub fn of(plan: &DetectPlan, last_event: Option<i64>) -> Window {
        let end = match plan.until {
            Some(d) => d
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp_micros(),
            None => {
                let last = last_event.unwrap_or_else(|| Utc::now().timestamp_micros());
                (last.div_euclid(DAY_US) + 1) * DAY_US
            }
        };
        let start = end - plan.window_days * DAY_US;
        Window {
            baseline_start: start - plan.baseline_days * DAY_US,
            start,
            end,
        }
    }

    /// Fills a query's window placeholders (`${window_start}`, ...: [`WINDOW_PLACEHOLDERS`]).
    pub fn fill(&self, sql: &str) -> String {
        self.fill_with(sql, &[])
    }

    /// Fills the window placeholders and `values`, in one pass: text written in (a value from a
    /// log) is never read again for placeholders.
    pub fn fill_with(&self, sql: &str, values: &[(&str, &str)]) -> String {
        crate::bundled::fill(sql, &|n| {
            values
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
                .or_else(|| self.value(n))
        })
    }

    /// The value of one window placeholder.
    pub fn value(&self, name: &str) -> Option<String> {
        let ts = |t: i64| Time::from_micros(t).sql_timestamp();
        let date = |t: i64| Time::from_micros(t).sql_date();
        Some(match name {
            "window_start" => ts(self.start),
            "window_end" => ts(self.end),
            "baseline_start" => ts(self.baseline_start),
            "window_start_date" => date(self.start),
            "window_end_date" => date(self.end),
            "baseline_start_date" => date(self.baseline_start),
            _ => return None,
        })
    }
}
