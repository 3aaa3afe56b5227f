//! Collations in the `sql_diff` cases (issue 17): COLLATE clauses on columns (UNIQUE and
//! PRIMARY KEY ones included) and in CREATE INDEX, `COLLATE` on expressions (comparisons,
//! IN lists and subqueries, CASE, result columns that feed DISTINCT, GROUP BY, compound
//! selects and ORDER BY, ORDER BY terms), and text that makes them matter (mixed case,
//! trailing and leading spaces).
//!
//! How such results are compared (see `compare`): SQLite defines the order of rows only up to
//! the collation of each ORDER BY term, so for a query that may compare under NOCASE or RTRIM
//! (its text says COLLATE, or a table has such a column) the sort keys are compared folded
//! (ASCII lower case, trailing spaces dropped) position by position, and the rows as exact
//! multisets. Where SQLite returns "some value of the group" (DISTINCT, GROUP BY, compound
//! selects, min/max: `picks_among_equals`), which of several values equal under the
//! collation comes back is not defined either (SQLite's own choice follows its scan and sort
//! order: for `GROUP BY n` over 'a', 'A' it may give either), so there the rows are compared
//! folded.

use super::generator::Src;
use super::*;

/// The built-in collations as the generator spells them (case varies: names are
/// case-insensitive).
const COLLATIONS: [&str; 6] = ["NOCASE", "RTRIM", "BINARY", "nocase", "Rtrim", "NoCase"];
/// The non-BINARY ones.
const FOLDING: [&str; 5] = ["NOCASE", "RTRIM", "nocase", "Rtrim", "NoCase"];

/// Text values whose comparison depends on the collation.
const TEXTS: [&str; 16] = [
    "'a'", "'A'", "'abc'", "'ABC'", "'aBc'", "'a '", "'A  '", "'abc '", "' abc'", "'b'", "'B '", "'x_y'", "'X_Y'",
    "'zz'", "'Zz '", "'10 '",
];

impl Gen {
    /// The one collation the columns of a case are declared with (None: no COLLATE clauses).
    ///
    /// One per case, because SQLite mistreats an equality between columns of different
    /// collations when it is BINARY: it takes `s.b = a0.a` (s.b BINARY, a0.a NOCASE) as an
    /// equivalence, chains it with `a1.a = a0.a` (NOCASE) and looks a1 up with s.b in a
    /// BINARY index on a1.a: with t0(b TEXT) = {'abc'}, t1(a TEXT COLLATE NOCASE) =
    /// {'abc', 'ABC'} and CREATE INDEX i ON t1(a COLLATE BINARY), `SELECT a1.a FROM t1 a0 JOIN
    /// t1 a1 ON a1.a = a0.a JOIN t0 s ON s.b == a0.a` returns only 'abc' (3.40 and 3.54.1;
    /// 'ABC' too without the index). With the same collation on every column, equalities
    /// between columns compare under it and chaining them is sound.
    pub(super) fn case_collation(&mut self) -> Option<&'static str> {
        match self.rng.below(100) {
            0..=39 => None,
            40..=64 => Some("NOCASE"),
            65..=84 => Some("RTRIM"),
            _ => Some("BINARY"),
        }
    }

    /// A column's COLLATE (None: no clause): the case's collation, spelled variously, mostly.
    pub(super) fn column_collation(&mut self) -> Option<&'static str> {
        let c = self.case_coll?;
        if self.rng.chance(15) {
            return None.filter(|_| c != "BINARY").or(Some(c));
        }
        let spellings: Vec<&'static str> = COLLATIONS.iter().copied().filter(|s| s.eq_ignore_ascii_case(c)).collect();
        Some(*self.rng.pick(&spellings))
    }

    /// An index column's COLLATE (None: the column's own): the case's collation too, when the
    /// case has one, else any.
    ///
    /// Not another one: SQLite carries a range under one collation through an equality under
    /// another onto an index of the first, and misses rows. With t1(a TEXT COLLATE RTRIM) =
    /// {'10', '10 ', '11', 'A', 'zz'} and CREATE INDEX i ON t1(a COLLATE NOCASE), `SELECT a0.a
    /// FROM t1 a0 LEFT JOIN t1 a1 ON a1.a = a0.a WHERE a1.a COLLATE NOCASE BETWEEN '10 ' AND
    /// 'a'` gives '10 ', '11', 'A' (3.54.1; sql_diff seed 1134204911155691442), but '10' too
    /// without the index: a0 = '10' joins a1 = '10 ' under RTRIM, and '10 ' is in the range.
    pub(super) fn index_collation(&mut self) -> Option<&'static str> {
        if !self.rng.chance(35) {
            return None;
        }
        match self.case_coll {
            Some(c) => {
                let spellings: Vec<&'static str> =
                    COLLATIONS.iter().copied().filter(|s| s.eq_ignore_ascii_case(c)).collect();
                Some(*self.rng.pick(&spellings))
            }
            None => Some(*self.rng.pick(&COLLATIONS)),
        }
    }

    /// A text literal that collations tell apart or not.
    pub(super) fn collation_text(&mut self) -> String {
        self.rng.pick(&TEXTS).to_string()
    }

    fn collate(&mut self) -> String {
        format!(" COLLATE {}", self.rng.pick(&COLLATIONS))
    }

    /// An ORDER BY term's COLLATE suffix, now and then.
    pub(super) fn order_collation(&mut self) -> String {
        if self.rng.chance(15) {
            self.collate()
        } else {
            String::new()
        }
    }

    /// An expression with an explicit collation (a result column, a GROUP BY term).
    pub(super) fn collate_expr(&mut self, ctx: &[Src], depth: u32) -> String {
        match self.rng.below(4) {
            0 => format!("({}{}) || ''", self.colref(ctx), self.collate()),
            1 if depth > 0 => format!("({}{})", self.expr(ctx, depth - 1), self.collate()),
            _ => format!("{}{}", self.colref(ctx), self.collate()),
        }
    }

    /// A predicate whose outcome depends on collations: comparisons with COLLATE on either
    /// side or between two columns, IN lists and subqueries, a simple CASE.
    pub(super) fn collate_pred(&mut self, ctx: &[Src], depth: u32) -> String {
        let text = |g: &mut Gen| if g.rng.chance(70) { g.collation_text() } else { g.operand(ctx) };
        match self.rng.below(8) {
            0 => format!("{}{} {} {}", self.colref(ctx), self.collate(), self.cmp_op(), text(self)),
            1 => format!("{} {} {}{}", self.colref(ctx), self.cmp_op(), text(self), self.collate()),
            2 => format!("{} {} {}", text(self), self.cmp_op(), self.colref(ctx)),
            3 => {
                // Not COLLATE BINARY: an explicit BINARY equality between columns of another
                // collation is what SQLite chains wrongly (see `case_collation`).
                let (l, r) = (self.colref(ctx), self.colref(ctx));
                let c =
                    if self.rng.chance(40) { format!(" COLLATE {}", self.rng.pick(&FOLDING)) } else { String::new() };
                format!("{l} {} {r}{c}", self.cmp_op())
            }
            4 => {
                let n = 1 + self.rng.below(3);
                let items: Vec<String> = (0..n).map(|_| text(self)).collect();
                let c = if self.rng.chance(50) { self.collate() } else { String::new() };
                let not = if self.rng.chance(25) { "NOT " } else { "" };
                format!("{}{c} {not}IN ({})", self.colref(ctx), items.join(", "))
            }
            5 if depth >= 1 => {
                // No COLLATE on the subquery's column: SQLite's answer then depends on its
                // plan (3.40 and the bundled one alike). With t1(b TEXT COLLATE NOCASE) holding
                // 'ABC' and t0(a) holding 'abc', `SELECT count(*) FROM t1 WHERE b IN (SELECT a
                // COLLATE BINARY FROM t0)` gives 0 (BINARY, the documented rule), but 1 once
                // `CREATE INDEX i ON t1(b)` exists (the IN drives the NOCASE index). And with
                // t2(a INTEGER PRIMARY KEY, b), an index on b and `b IN (SELECT b COLLATE
                // NOCASE FROM t2) ORDER BY b`, SQLite returns the rows in NOCASE order, taking
                // the IN list's order for the BINARY ORDER BY's.
                let lhs = self.colref(ctx);
                let c = if self.rng.chance(50) { self.collate() } else { String::new() };
                let (src, from, _) = self.sub_source(ctx);
                let col = self.colref_of(&src, false);
                let not = if self.rng.chance(25) { "NOT " } else { "" };
                format!("{lhs}{c} {not}IN (SELECT {col} FROM {from})")
            }
            6 => {
                let subject = self.colref(ctx);
                let c = if self.rng.chance(40) { self.collate() } else { String::new() };
                let w = text(self);
                let c2 = if self.rng.chance(30) { self.collate() } else { String::new() };
                format!("CASE {subject}{c} WHEN {w}{c2} THEN 1 WHEN {} THEN 2 ELSE 0 END = 1", text(self))
            }
            _ => {
                let (lo, hi) = (text(self), text(self));
                format!("{}{} BETWEEN {lo} AND {hi}", self.colref(ctx), self.collate())
            }
        }
    }

    /// Whether a query may compare text under NOCASE or RTRIM: it says COLLATE, or a table
    /// has a column declared with one (a view of it, a join, an index all carry it).
    pub(super) fn collated_query(&self, sql: &str) -> bool {
        sql.to_ascii_uppercase().contains("COLLATE")
            || self
                .tables
                .iter()
                .any(|t| t.cols.iter().any(|c| c.coll.is_some_and(|n| !n.eq_ignore_ascii_case("binary"))))
    }
}

/// A compound select's ORDER BY without COLLATE on its terms. With a COLLATE on one term, SQLite
/// (3.40 and 3.54.1) sorts the other terms whose collation comes from a SELECT right of the
/// first one BINARY instead: `CREATE TABLE t(b TEXT COLLATE NOCASE)` with 'a' and 'B', then
/// `SELECT lower(b), 1 FROM t WHERE 0 UNION SELECT b, 2 FROM t ORDER BY 1 DESC, 2` gives B, a
/// (NOCASE, from the right SELECT) but `... ORDER BY 1 DESC, 2 COLLATE RTRIM` gives a, B.
pub(super) fn compound_order(order_by: &str) -> String {
    let mut out = order_by.to_string();
    for c in COLLATIONS {
        out = out.replace(&format!(" COLLATE {c}"), "");
    }
    out
}

/// Text folded the way NOCASE and RTRIM both ignore: ASCII lower case, no trailing spaces.
fn fold(v: &Value) -> Value {
    match v {
        Value::Text(s) => {
            let b = s.as_bytes();
            let n = b.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
            Value::Text(tessera::sql::Text::from_bytes(b[..n].to_ascii_lowercase()))
        }
        v => v.clone(),
    }
}

fn folded(r: &Rows) -> Rows {
    Rows { columns: r.columns, rows: r.rows.iter().map(|row| row.iter().map(fold).collect()).collect() }
}

/// Compare a query's results (see the module docs): as `compare_rows` unless the query is
/// `collated`; then the order folded and the rows exact, or (with `relaxed`, a query that
/// picks among equal values) everything folded.
pub(super) fn compare(
    got: &Rows,
    reference: &Rows,
    order: Option<Ordered>,
    relaxed: bool,
    collated: bool,
) -> Result<(), String> {
    if !collated {
        return compare_rows(got, reference, order, relaxed);
    }
    compare_rows(&folded(got), &folded(reference), order, relaxed)?;
    if relaxed {
        return Ok(());
    }
    // With LIMIT/OFFSET a run of equal (folded) keys may be cut anywhere: only the rows
    // outside such cuts are certain, so the exact check is of the whole result only without
    // them.
    match order {
        Some(o) if o.limit || o.offset => Ok(()),
        _ => compare_rows(got, reference, None, false).map_err(|e| format!("{e} (exact rows, collated query)")),
    }
}

#[test]
fn collated_comparison_rules() {
    let t = |s: &str| Value::Text(s.into());
    let rows = |v: Vec<Vec<Value>>| Rows { columns: 1, rows: v };
    let ord = Some(Ordered { limit: false, offset: false });
    let a = rows(vec![vec![t("a")], vec![t("A")], vec![t("b")]]);
    let b = rows(vec![vec![t("A")], vec![t("a")], vec![t("b")]]);
    // Ties under NOCASE may come in either order, but the rows must be the same.
    assert!(compare(&a, &b, ord, false, true).is_ok());
    assert!(compare(&a, &b, ord, false, false).is_err());
    let c = rows(vec![vec![t("a")], vec![t("a")], vec![t("b")]]);
    assert!(compare(&c, &b, ord, false, true).is_err());
    // Which of the equal values a DISTINCT keeps is open.
    assert!(compare(&c, &b, ord, true, true).is_ok());
    assert!(compare(&rows(vec![vec![t("x ")]]), &rows(vec![vec![t("X")]]), None, true, true).is_ok());
    assert!(compare(&rows(vec![vec![t("x ")]]), &rows(vec![vec![t("y")]]), None, true, true).is_err());
}
