//! Aggregate functions: [`aggregate`] says whether a call is one (and which), an
//! [`Accumulator`] folds a group's rows (`count`, `sum` with SQLite's overflow rules,
//! `total`, `avg`, `min`, `max`, `group_concat` / `string_agg`).

use super::scalar::{check_len, err, fabs, numeric_ref, text, wrong_args};
use crate::error::Result;
use crate::sql::types::collation::Coll;
use crate::sql::types::text::Text;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::sql::types::value::Value;

// ---------------------------------------------------------------------------------------
// Aggregates

/// The built-in aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateKind {
    /// `count(x)`: non-NULL values.
    Count,
    /// `count(*)`: rows.
    CountStar,
    /// `sum(x)`: INTEGER while every input is an integer (overflow is an error), else REAL;
    /// NULL with no input.
    Sum,
    /// `total(x)`: always REAL, 0.0 with no input.
    Total,
    /// `avg(x)`: REAL, NULL with no input.
    Avg,
    /// `min(x)`.
    Min,
    /// `max(x)`.
    Max,
    /// `group_concat(x[, sep])` and `string_agg(x, sep)`.
    GroupConcat,
}

/// `Some(kind)` if `name` (lower-case) with `argc` arguments is an aggregate call; `star` is
/// `f(*)` (only `count(*)` is valid; `f(*)` otherwise counts as no arguments). `min`/`max`
/// with two or more arguments are the scalar functions. Wrong argument counts are errors.
pub fn aggregate(name: &str, argc: usize, star: bool) -> Result<Option<AggregateKind>> {
    let argc = if star { 0 } else { argc };
    let (ok, kind) = match name {
        "count" => (argc <= 1, if argc == 0 { AggregateKind::CountStar } else { AggregateKind::Count }),
        "sum" => (argc == 1, AggregateKind::Sum),
        "total" => (argc == 1, AggregateKind::Total),
        "avg" => (argc == 1, AggregateKind::Avg),
        "min" | "max" if argc >= 2 => return Ok(None),
        "min" => (argc == 1, AggregateKind::Min),
        "max" => (argc == 1, AggregateKind::Max),
        "group_concat" => (argc == 1 || argc == 2, AggregateKind::GroupConcat),
        "string_agg" => (argc == 2, AggregateKind::GroupConcat),
        _ => return Ok(None),
    };
    if ok {
        Ok(Some(kind))
    } else {
        wrong_args(name)
    }
}

/// The running state of one aggregate over one group.
#[derive(Debug, Clone)]
pub struct Accumulator {
    kind: AggregateKind,
    /// DISTINCT: the argument values seen so far.
    seen: Option<BTreeSet<Value>>,
    count: i64,
    /// sum/total/avg: the integer sum until a non-integer (or an overflow) is seen, then a
    /// Kahan-Babuska-Neumaier sum as SQLite keeps it.
    isum: i64,
    rsum: f64,
    rerr: f64,
    approx: bool,
    overflow: bool,
    /// min/max: the best value so far (NULL: none yet).
    best: Value,
    /// The collation min/max compare with and DISTINCT tells values apart with.
    coll: Coll,
    /// group_concat: the text so far (None: no non-NULL value yet).
    text: Option<Vec<u8>>,
}

impl Accumulator {
    /// A fresh accumulator; `distinct` feeds each distinct non-NULL argument once.
    pub fn new(kind: AggregateKind, distinct: bool) -> Accumulator {
        Accumulator {
            kind,
            seen: distinct.then(BTreeSet::new),
            count: 0,
            isum: 0,
            rsum: 0.0,
            rerr: 0.0,
            approx: false,
            overflow: false,
            best: Value::Null,
            text: None,
            coll: Coll::Binary,
        }
    }

    /// The accumulator comparing its argument under `coll` (min/max, DISTINCT).
    pub fn with_collation(mut self, coll: Coll) -> Accumulator {
        self.coll = coll;
        self
    }

    /// Feed one row's argument values (none for `count(*)`).
    pub fn step(&mut self, args: &[Value]) -> Result<()> {
        if self.kind == AggregateKind::CountStar {
            self.count += 1;
            return Ok(());
        }
        let Some(v) = args.first() else { return wrong_args(self.name()) };
        if self.seen.is_some() && args.len() != 1 {
            return err("DISTINCT aggregates must have exactly one argument");
        }
        if v.is_null() {
            return Ok(());
        }
        if let Some(seen) = &mut self.seen {
            let k = self.coll.key(v);
            if seen.contains(k.as_ref()) {
                return Ok(());
            }
            seen.insert(k.into_owned());
        }
        self.count += 1;
        match self.kind {
            AggregateKind::Count | AggregateKind::CountStar => {}
            AggregateKind::Sum | AggregateKind::Total | AggregateKind::Avg => match numeric_ref(v).as_ref() {
                &Value::Integer(i) if !self.approx => match self.isum.checked_add(i) {
                    Some(s) => self.isum = s,
                    None => {
                        self.overflow = true;
                        self.start_approx();
                        self.add_int(i);
                    }
                },
                &Value::Integer(i) => self.add_int(i),
                other => {
                    if self.approx {
                        self.overflow = false;
                    } else {
                        self.start_approx();
                    }
                    self.add(other.to_f64());
                }
            },
            AggregateKind::Min | AggregateKind::Max => {
                let want = if self.kind == AggregateKind::Max { Ordering::Less } else { Ordering::Greater };
                if self.best.is_null() || self.coll.cmp(&self.best, v) == want {
                    self.best = v.clone();
                }
            }
            AggregateKind::GroupConcat => {
                let s = text(v).unwrap_or_default();
                match &mut self.text {
                    None => self.text = Some(s.into_owned()),
                    Some(t) => {
                        match args.get(1) {
                            None => t.push(b','),
                            Some(sep) => t.extend_from_slice(&text(sep).unwrap_or_default()),
                        }
                        t.extend_from_slice(&s);
                        check_len(t.len())?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The aggregate's value for the rows fed so far (the state is kept: more rows may follow).
    pub fn finish(&mut self) -> Result<Value> {
        Ok(match self.kind {
            AggregateKind::Count | AggregateKind::CountStar => Value::Integer(self.count),
            AggregateKind::Sum if self.count == 0 => Value::Null,
            AggregateKind::Sum if self.overflow => return err("integer overflow"),
            AggregateKind::Sum if !self.approx => Value::Integer(self.isum),
            AggregateKind::Sum | AggregateKind::Total => Value::real(self.real_sum()),
            AggregateKind::Avg if self.count == 0 => Value::Null,
            AggregateKind::Avg => Value::real(self.real_sum() / self.count as f64),
            AggregateKind::Min | AggregateKind::Max => self.best.clone(),
            AggregateKind::GroupConcat => self.text.clone().map_or(Value::Null, |t| Value::Text(Text::from_bytes(t))),
        })
    }

    fn name(&self) -> &'static str {
        match self.kind {
            AggregateKind::Count | AggregateKind::CountStar => "count",
            AggregateKind::Sum => "sum",
            AggregateKind::Total => "total",
            AggregateKind::Avg => "avg",
            AggregateKind::Min => "min",
            AggregateKind::Max => "max",
            AggregateKind::GroupConcat => "group_concat",
        }
    }

    fn real_sum(&self) -> f64 {
        if !self.approx {
            self.isum as f64
        } else if self.rerr.is_finite() {
            self.rsum + self.rerr
        } else {
            self.rsum
        }
    }

    /// Switch from the integer sum to the compensated real sum.
    fn start_approx(&mut self) {
        self.approx = true;
        let i = self.isum;
        if !(-4503599627370495..=4503599627370495).contains(&i) {
            let small = i % 16384;
            (self.rsum, self.rerr) = ((i - small) as f64, small as f64);
        } else {
            (self.rsum, self.rerr) = (i as f64, 0.0);
        }
    }

    fn add_int(&mut self, i: i64) {
        if !(-4503599627370495..=4503599627370495).contains(&i) {
            let small = i % 16384;
            self.add((i - small) as f64);
            self.add(small as f64);
        } else {
            self.add(i as f64);
        }
    }

    /// One Kahan-Babuska-Neumaier step.
    fn add(&mut self, r: f64) {
        let s = self.rsum;
        let t = s + r;
        if fabs(s) > fabs(r) {
            self.rerr += (s - t) + r;
        } else {
            self.rerr += (r - t) + s;
        }
        self.rsum = t;
    }
}
