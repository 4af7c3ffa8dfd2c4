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
    /// End of the window (exclusive): when not given, the midnight after the last event that is
    /// not later than the trusted end ([`Window::trusted_end`]).
    pub until: Option<NaiveDate>,
    /// Lowest score reported.
    pub min_score: u32,
    /// Suppressions.
    pub suppressions: Suppressions,
    /// Today, for suppression expiry.
    pub today: NaiveDate,
    /// The clock (µs), which bounds the trusted end of the trail.
    pub now: i64,
    /// Also judge the pipeline principals' grants (`--permissions`): the permissions review
    /// over the baseline and the window ([`crate::permissions::findings`]).
    pub permissions: bool,
    /// Who is judged besides pipelines (`--subjects`).
    pub subjects: Subjects,
    /// Where the history comes from: the daily profiles (registered as
    /// [`crate::profiles::HISTORY_TABLE`] before detect runs) or the events themselves.
    pub history: crate::profiles::History,
}

/// Who detect judges (`--subjects`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Subjects {
    /// Pipelines only.
    Pipelines,
    /// Pipelines and every other origin identity: IAM users and their keys, roles no pipeline
    /// uses, Identity Center and SAML users, root (AWS services acting for someone are not).
    #[default]
    All,
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
            now: Utc::now().timestamp_micros(),
            permissions: false,
            subjects: Subjects::All,
            history: crate::profiles::History::Profiles,
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
    "trusted_end",
    "trusted_end_date",
];

/// Clock skew allowed between CloudTrail, the delivery's key and this machine.
pub const SKEW_US: i64 = 15 * 60 * 1_000_000;

/// The window and history of a plan over a lake whose last event is `last_event` (µs).
pub struct Window {
    /// History start (µs).
    pub baseline_start: i64,
    /// Window start (µs).
    pub start: i64,
    /// Window end, exclusive (µs).
    pub end: i64,
    /// No event is trusted at or after this time (µs): the clock plus [`SKEW_US`], or earlier,
    /// the midnight after the newest delivery's key date plus the skew. A forged `eventTime`
    /// cannot move the window; events beyond it are reported (`future_event_time`).
    pub trusted_end: i64,
}

/// A day in µs.
pub const DAY_US: i64 = 86_400_000_000;

impl Window {
    /// The window of `plan` ending at `until` (or at the midnight after `last_event`, the last
    /// event before `trusted_end`).
    pub fn of(plan: &DetectPlan, last_event: Option<i64>, trusted_end: i64) -> Window {
        let end = match plan.until {
            Some(d) => d
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp_micros(),
            None => {
                let last = last_event.unwrap_or(plan.now).min(trusted_end);
                (last.div_euclid(DAY_US) + 1) * DAY_US
            }
        };
        let start = end - plan.window_days * DAY_US;
        Window {
            baseline_start: start - plan.baseline_days * DAY_US,
            start,
            end,
            trusted_end,
        }
    }

    /// The trusted end of a trail whose newest delivery key date is `newest_key_day` (days since
    /// the epoch; `None` when some object has no key date, as exports and arrays do), on the
    /// plan's clock.
    pub fn trusted_end(plan: &DetectPlan, newest_key_day: Option<i32>) -> i64 {
        let clock = plan.now.saturating_add(SKEW_US);
        match newest_key_day {
            Some(d) => clock.min((i64::from(d) + 1) * DAY_US + SKEW_US),
            None => clock,
        }
    }

    /// The days of the history (days since the epoch), `[first, end)`: the days the daily
    /// profiles cover.
    pub fn history_days(&self) -> std::ops::Range<i32> {
        self.baseline_start.div_euclid(DAY_US) as i32..self.start.div_euclid(DAY_US) as i32
    }

    /// The judged days alone, with no history (the feature queries' window when the history
    /// comes from the daily profiles).
    pub fn judged_only(&self) -> Window {
        Window {
            baseline_start: self.start,
            start: self.start,
            end: self.end,
            trusted_end: self.trusted_end,
        }
    }

    /// The history alone: the same history, ending where the window starts.
    pub fn history_only(&self) -> Window {
        Window {
            baseline_start: self.baseline_start,
            start: self.start,
            end: self.start,
            trusted_end: self.trusted_end,
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
            "trusted_end" => ts(self.trusted_end),
            "trusted_end_date" => date(self.trusted_end),
            _ => return None,
        })
    }
}
