//! Day pruning from time filters: an optimizer rule that derives `event_date` bounds from
//! `event_time` bounds, so `WHERE event_time >= TIMESTAMP '2026-10-01 08:00'` reads only the
//! partitions of the days it can match, as `WHERE event_date = ...` would.
//!
//! Sound because ingest writes every row under the UTC date of its `event_time`
//! ([`crate::lake::writer`]): the derived bound holds for every row the original keeps. It
//! applies to any relation with both columns (`cloudtrail`, `builds`, `pipeline_events` through
//! its projection), and DataFusion's filter push-down then carries the new bounds to the
//! listing table, which prunes partitions before opening a file.

use chrono::{DateTime, Utc};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result, ScalarValue};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, LogicalPlan, Operator, lit};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

const TIME: &str = "event_time";
const DATE: &str = "event_date";

/// The rule.
#[derive(Debug, Default)]
pub struct DayPruning;

/// Microseconds of a timestamp literal, whatever its unit.
fn micros(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::TimestampSecond(Some(s), _) => s.checked_mul(1_000_000),
        ScalarValue::TimestampMillisecond(Some(ms), _) => ms.checked_mul(1_000),
        ScalarValue::TimestampMicrosecond(Some(us), _) => Some(*us),
        ScalarValue::TimestampNanosecond(Some(ns), _) => Some(ns.div_euclid(1_000)),
        _ => None,
    }
}

fn date(us: i64) -> Option<ScalarValue> {
    let d = DateTime::<Utc>::from_timestamp_micros(us)?.date_naive();
    Some(ScalarValue::Date32(Some(
        (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days() as i32,
    )))
}

/// `event_time <op> t` as a bound on `event_date`.
fn derive(col: &Column, op: Operator, us: i64) -> Option<Expr> {
    let d = Expr::Column(Column::new(col.relation.clone(), DATE));
    Some(match op {
        Operator::GtEq | Operator::Gt => d.gt_eq(lit(date(us)?)),
        Operator::Lt => d.lt_eq(lit(date(us.checked_sub(1)?)?)),
        Operator::LtEq => d.lt_eq(lit(date(us)?)),
        Operator::Eq => d.eq(lit(date(us)?)),
        _ => return None,
    })
}

fn time_column(e: &Expr) -> Option<&Column> {
    match e {
        Expr::Column(c) if c.name == TIME => Some(c),
        Expr::Cast(c) => time_column(&c.expr),
        _ => None,
    }
}

fn literal(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(v, _) => micros(v),
        _ => None,
    }
}

/// The `event_date` bounds a conjunct implies.
fn bounds(e: &Expr) -> Vec<Expr> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            if let (Some(c), Some(t)) = (time_column(left), literal(right)) {
                return derive(c, *op, t).into_iter().collect();
            }
            if let (Some(c), Some(t)) = (time_column(right), literal(left))
                && let Some(op) = op.swap()
            {
                return derive(c, op, t).into_iter().collect();
            }
            vec![]
        }
        Expr::Between(b) if !b.negated => match time_column(&b.expr) {
            Some(c) => [
                literal(&b.low).and_then(|t| derive(c, Operator::GtEq, t)),
                literal(&b.high).and_then(|t| derive(c, Operator::LtEq, t)),
            ]
            .into_iter()
            .flatten()
            .collect(),
            None => vec![],
        },
        _ => vec![],
    }
}

impl OptimizerRule for DayPruning {
    fn name(&self) -> &str {
        "pipewarden_day_pruning"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    /// Acts on table scans, after filter push-down has put the `event_time` conditions among
    /// the scan's filters: the derived `event_date` bounds join them, and the listing table
    /// prunes partitions with them (the column need not be projected).
    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::TableScan(mut scan) = plan else {
            return Ok(Transformed::no(plan));
        };
        let source = scan.source.schema();
        let partitioned = source
            .field_with_name(DATE)
            .is_ok_and(|f| f.data_type() == &arrow::datatypes::DataType::Date32)
            && source.field_with_name(TIME).is_ok();
        if !partitioned {
            return Ok(Transformed::no(LogicalPlan::TableScan(scan)));
        }
        let mut added = vec![];
        for f in &scan.filters {
            for c in split_conjunction(f) {
                for b in bounds(c) {
                    if !scan.filters.contains(&b) && !added.contains(&b) {
                        added.push(b);
                    }
                }
            }
        }
        if added.is_empty() {
            return Ok(Transformed::no(LogicalPlan::TableScan(scan)));
        }
        scan.filters.extend(added);
        Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::col;

    fn ts(s: &str) -> Expr {
        let us = DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
        lit(ScalarValue::TimestampMicrosecond(
            Some(us),
            Some("UTC".into()),
        ))
    }

    #[test]
    fn bounds_follow_the_comparison() {
        let t = || col(TIME);
        let d = || col(DATE);
        let day = |s: &str| {
            lit(date(DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()).unwrap())
        };
        let cases = [
            (
                t().gt_eq(ts("2026-10-01T08:00:00Z")),
                vec![d().gt_eq(day("2026-10-01T00:00:00Z"))],
            ),
            (
                t().gt(ts("2026-10-01T23:59:59Z")),
                vec![d().gt_eq(day("2026-10-01T00:00:00Z"))],
            ),
            // Midnight excluded: the day before is the last.
            (
                t().lt(ts("2026-10-02T00:00:00Z")),
                vec![d().lt_eq(day("2026-10-01T00:00:00Z"))],
            ),
            (
                t().lt_eq(ts("2026-10-02T00:00:00Z")),
                vec![d().lt_eq(day("2026-10-02T00:00:00Z"))],
            ),
            (
                ts("2026-10-01T08:00:00Z").lt_eq(t()),
                vec![d().gt_eq(day("2026-10-01T00:00:00Z"))],
            ),
            (
                t().between(ts("2026-10-01T08:00:00Z"), ts("2026-10-03T09:00:00Z")),
                vec![
                    d().gt_eq(day("2026-10-01T00:00:00Z")),
                    d().lt_eq(day("2026-10-03T00:00:00Z")),
                ],
            ),
            (t().not_eq(ts("2026-10-01T08:00:00Z")), vec![]),
            (
                t().not_between(ts("2026-10-01T08:00:00Z"), ts("2026-10-03T09:00:00Z")),
                vec![],
            ),
            (col("other").gt_eq(ts("2026-10-01T08:00:00Z")), vec![]),
        ];
        for (e, want) in cases {
            assert_eq!(bounds(&e), want, "{e}");
        }
    }
}
