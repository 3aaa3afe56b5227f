//! Join order and access paths: which source comes next, and how each is read (equality on
//! a key prefix, an IN list or a range on the next key column, over the table's own key or a
//! secondary index; covering when the index holds every column the query reads), plus the
//! equality keys of hash joins.

use crate::error::Result;
use crate::sql::planner::compile::{conv_fn, pick_coll};
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::sql::catalog::{IndexDef, PrimaryKey, TableDef};
use crate::sql::parser::ast::{BinaryOp, Expr, OrderItem, ResultColumn, Select, UnaryOp};
use crate::sql::planner::expr::{CExpr, CmpOp, Conv};
use crate::sql::planner::order::{full_key, GoalKind, OrderGoal, Served};
use crate::sql::planner::plan::KeySpec;
use crate::sql::planner::select::{
    cmp_op, conjuncts, has_subquery, walk, ColCons, Conj, Frame, FrameCol, Planner, Source, SourceKind,
};
use crate::sql::types::collation::Coll;
use crate::sql::types::value::{Affinity, Value};

impl<'s> Planner<'s> {
    /// The order to join `sources` in: for up to 8 sources the cheapest of all orders by
    /// estimated rows read (dynamic programming over the sets of sources placed first),
    /// else greedily the source cheapest to read next. Placing a source after others costs,
    /// when an access path can use their columns (an index lookup per row so far), the rows
    /// so far times the rows each lookup reads; otherwise its rows read once (a hash join or
    /// a cached right side) plus a probe per row so far.
    pub(super) fn join_order(&self, sources: &[Source], conjs: &[Conj]) -> Vec<usize> {
        let n = sources.len();
        if n > 8 {
            return self.greedy_join_order(sources, conjs);
        }
        // best[set] = (cost, rows out, last source, previous set)
        let full = (1usize << n) - 1;
        let mut best: Vec<Option<(u64, u64, usize, usize)>> = vec![None; full + 1];
        best[0] = Some((0, 1, usize::MAX, 0));
        for set in 0..full {
            let Some((cost, rows, ..)) = best[set] else { continue };
            for (i, s) in sources.iter().enumerate() {
                let bit = 1usize << i;
                if set & bit != 0 {
                    continue;
                }
                let (c, out) = self.join_step(s, i, set as u64, rows, conjs, sources);
                let total = cost.saturating_add(c);
                let next = set | bit;
                if best[next].is_none_or(|(b, ..)| total < b) {
                    best[next] = Some((total, out.max(1), i, set));
                }
            }
        }
        let mut order = Vec::with_capacity(n);
        let mut set = full;
        while set != 0 {
            let Some((_, _, i, prev)) = best[set] else { break };
            order.push(i);
            set = prev;
        }
        order.reverse();
        if order.len() != n {
            return self.greedy_join_order(sources, conjs);
        }
        order
    }

    /// The cost (rows read) of joining source `i` after the sources in `placed`, which
    /// produce `rows` rows, and the rows out (see `join_order`).
    fn join_step(
        &self,
        s: &Source,
        i: usize,
        placed: u64,
        rows: u64,
        conjs: &[Conj],
        sources: &[Source],
    ) -> (u64, u64) {
        let alone = self.estimate(s, i, 0, conjs, sources);
        if placed == 0 {
            return (alone, alone);
        }
        let bound = self.estimate(s, i, placed, conjs, sources);
        if bound < alone {
            return (rows.saturating_mul(bound.saturating_add(1)), rows.saturating_mul(bound));
        }
        let bit = 1u64 << i;
        let linked = conjs.iter().any(|c| c.mask & bit != 0 && c.mask & placed != 0 && c.mask & !(placed | bit) == 0);
        let out = if linked { rows.max(alone) } else { rows.saturating_mul(alone) };
        (alone.saturating_add(rows), out)
    }

    fn greedy_join_order(&self, sources: &[Source], conjs: &[Conj]) -> Vec<usize> {
        let n = sources.len();
        let mut placed = 0u64;
        let mut order = Vec::new();
        for _ in 0..n {
            let mut best: Option<(u64, usize)> = None;
            for (i, s) in sources.iter().enumerate() {
                if placed & (1 << i) != 0 {
                    continue;
                }
                let est = self.estimate(s, i, placed, conjs, sources);
                if best.is_none_or(|(b, _)| est < b) {
                    best = Some((est, i));
                }
            }
            let (_, i) = best.unwrap_or((0, 0));
            placed |= 1 << i;
            order.push(i);
        }
        order
    }

    /// Estimated rows produced per probe of source `i` given the placed sources.
    fn estimate(&self, s: &Source, i: usize, placed: u64, conjs: &[Conj], sources: &[Source]) -> u64 {
        let SourceKind::Table(t) = &s.kind else { return s.rows.max(1) };
        let cons = self.column_constraints(t, s, i, placed, conjs, sources);
        let n = s.rows.max(1);
        let mut best = n;
        for (path, (cols, unique)) in key_paths(t).into_iter().enumerate() {
            let mut eq = 0;
            for c in &cols {
                if cons.iter().any(|(cc, k)| cc == c && matches!(k, ColCons::Eq(_))) {
                    eq += 1;
                } else {
                    break;
                }
            }
            let next = cols.get(eq);
            let est = if eq == cols.len() && unique {
                1
            } else if eq > 0 {
                self.eq_rows(t, path, n, eq)
            } else if next.is_some_and(|c| cons.iter().any(|(cc, k)| cc == c && matches!(k, ColCons::In(_)))) {
                (n / 50).max(2)
            } else if let Some(c) = next {
                let lo = cons.iter().any(|(cc, k)| cc == c && matches!(k, ColCons::Lo(..)));
                let hi = cons.iter().any(|(cc, k)| cc == c && matches!(k, ColCons::Hi(..)));
                match (lo, hi) {
                    // Both ends of a range: a sixteenth; one end: a quarter.
                    (true, true) => (n / 16).max(2),
                    (true, false) | (false, true) => (n / 4).max(2),
                    _ => n,
                }
            } else {
                n
            };
            best = best.min(est);
        }
        best
    }

    /// Per-column constraints usable for source `i` when `placed` are bound, each with the
    /// collation its comparison uses (a key path column serves only comparisons under its own
    /// collation; BINARY for the rowid, which is never text).
    fn column_constraints<'q>(
        &self,
        t: &TableDef,
        s: &Source,
        i: usize,
        placed: u64,
        conjs: &'q [Conj],
        sources: &[Source],
    ) -> Vec<((usize, Coll), ColCons<'q>)> {
        let bit = 1u64 << i;
        let mut out = Vec::new();
        for c in conjs {
            if c.mask & bit == 0 || c.mask & !(placed | bit) != 0 {
                continue;
            }
            match c.e {
                Expr::Binary { op, left, right } => {
                    let Some(op) = cmp_op(*op) else { continue };
                    let Some(coll) = self.static_cmp_coll(left, right, sources) else { continue };
                    for (col_side, other, op) in [(&**left, &**right, op), (&**right, &**left, op.swap())] {
                        let Some(col) = self.own_column(col_side, t, s) else { continue };
                        if self.mask_of(other, sources) & !placed != 0 || has_subquery(other) {
                            continue;
                        }
                        if !self.indexable(t, col, other, sources) {
                            continue;
                        }
                        let col = (col, if col == usize::MAX { Coll::Binary } else { coll });
                        let k = match op {
                            CmpOp::Eq => ColCons::Eq(other),
                            CmpOp::Gt => ColCons::Lo(other, false),
                            CmpOp::Ge => ColCons::Lo(other, true),
                            CmpOp::Lt => ColCons::Hi(other, false),
                            CmpOp::Le => ColCons::Hi(other, true),
                            CmpOp::Ne => continue,
                        };
                        out.push((col, k));
                    }
                }
                Expr::Between { expr, low, high, negated: false } => {
                    let Some(col) = self.own_column(expr, t, s) else { continue };
                    let ok = |x: &Expr| self.mask_of(x, sources) & !placed == 0 && !has_subquery(x);
                    let (Some(lc), Some(hc)) =
                        (self.static_cmp_coll(expr, low, sources), self.static_cmp_coll(expr, high, sources))
                    else {
                        continue;
                    };
                    let key = |c: Coll| (col, if col == usize::MAX { Coll::Binary } else { c });
                    if ok(low)
                        && ok(high)
                        && self.indexable(t, col, low, sources)
                        && self.indexable(t, col, high, sources)
                    {
                        out.push((key(lc), ColCons::Lo(low, true)));
                        out.push((key(hc), ColCons::Hi(high, true)));
                    }
                }
                // x IN (SELECT ...) on the rowid or a numeric column (whose keys a value
                // converted by the comparison's affinity still finds): the subquery's values
                // are key probes when it reads no row around it (checked as it compiles).
                // The comparison's collation is the operand column's (a column's wins over
                // the subquery's): only a key under it can serve (the scan also checks that
                // the subquery's values are keyed the same way).
                Expr::InSubquery { expr, negated: false, .. } => {
                    let Some(col) = self.own_column(expr, t, s) else { continue };
                    if col == usize::MAX {
                        out.push(((col, Coll::Binary), ColCons::InSub(c.e)));
                    } else if t.columns[col].affinity.is_numeric() {
                        let Some((coll, _)) = self.static_coll(expr, sources) else { continue };
                        out.push(((col, coll.unwrap_or(Coll::Binary)), ColCons::InSub(c.e)));
                    }
                }
                // LIKE / GLOB on a TEXT column: the pattern's literal prefix is a key range
                // under the collation that compares as the operator does (NOCASE for LIKE,
                // BINARY for GLOB), as SQLite's LIKE optimization.
                Expr::Like { expr, pattern, escape: None, negated: false, glob } => {
                    let Some(col) = self.own_column(expr, t, s).filter(|c| *c != usize::MAX) else { continue };
                    if t.columns[col].affinity != Affinity::Text
                        || self.mask_of(pattern, sources) & !placed != 0
                        || has_subquery(pattern)
                        || matches!(**expr, Expr::Collate { .. })
                    {
                        continue;
                    }
                    let coll = if *glob { Coll::Binary } else { Coll::NoCase };
                    out.push(((col, coll), ColCons::Like(pattern, *glob)));
                }
                // IS NULL: an equality with the NULL key (a rowid is never NULL).
                Expr::IsNull { expr, negated: false } => {
                    let Some(col) = self.own_column(expr, t, s).filter(|c| *c != usize::MAX) else { continue };
                    let Some((coll, _)) = self.static_coll(expr, sources) else { continue };
                    out.push(((col, coll.unwrap_or(Coll::Binary)), ColCons::IsNull));
                }
                Expr::InList { expr, list, negated: false } if !list.is_empty() => {
                    let Some(col) = self.own_column(expr, t, s) else { continue };
                    // The list compares with the operand's collation alone.
                    let Some((coll, _)) = self.static_coll(expr, sources) else { continue };
                    let coll = if col == usize::MAX { Coll::Binary } else { coll.unwrap_or(Coll::Binary) };
                    if list.iter().all(|x| self.mask_of(x, sources) & !placed == 0 && !has_subquery(x))
                        && list.iter().all(|x| self.indexable(t, col, x, sources))
                    {
                        out.push(((col, coll), ColCons::In(list)));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The column of table `t` (source `s`) an expression names directly; usize::MAX is the
    /// rowid.
    pub(super) fn own_column(&self, e: &Expr, t: &TableDef, s: &Source) -> Option<usize> {
        let e = match e {
            Expr::Collate { expr, .. } => expr,
            e => e,
        };
        let Expr::Column { table, name } = e else { return None };
        if let Some(q) = table {
            if !q.eq_ignore_ascii_case(&s.alias) {
                return None;
            }
        }
        let i = s.frame.find(table.as_deref(), name).ok().flatten()?;
        if s.frame.cols[i].shadowed && table.is_none() {
            return None;
        }
        if i == t.columns.len() || t.pk == (PrimaryKey::Rowid { alias: Some(i) }) {
            return Some(usize::MAX);
        }
        Some(i)
    }

    /// The collation of an expression without compiling it (see `select::Typed`): the
    /// collation and whether it is explicit; `None` when it cannot be told (a column of an
    /// outer query, an unknown collation name).
    pub(super) fn static_coll(&self, e: &Expr, sources: &[Source]) -> Option<(Option<Coll>, bool)> {
        if let Some(c) = crate::sql::planner::compile::explicit_coll(e).ok()? {
            return Some((Some(c), true));
        }
        match e {
            Expr::Column { table, name } => {
                for s in sources {
                    if table.as_deref().is_some_and(|q| !q.eq_ignore_ascii_case(&s.alias)) {
                        continue;
                    }
                    if let Ok(Some(i)) = s.frame.find(table.as_deref(), name) {
                        return Some((s.frame.cols[i].coll, false));
                    }
                }
                self.outer_column(table.as_deref(), name).map(|c| (c.coll, false))
            }
            Expr::Unary { op: UnaryOp::Plus, expr } | Expr::Cast { expr, .. } => self.static_coll(expr, sources),
            Expr::Subquery(_) => None,
            _ => Some((None, false)),
        }
    }

    /// A column of an enclosing query's row, innermost first, as compiling would resolve it
    /// (None: not there, or ambiguous).
    fn outer_column(&self, table: Option<&str>, name: &str) -> Option<&FrameCol> {
        for f in self.outer_frames.iter().rev() {
            match f.find(table, name) {
                Ok(Some(i)) => return f.cols.get(i),
                Ok(None) => {}
                Err(_) => return None,
            }
        }
        None
    }

    /// The collation of the comparison `l op r` without compiling it (None: unknown).
    fn static_cmp_coll(&self, l: &Expr, r: &Expr, sources: &[Source]) -> Option<Coll> {
        let (lc, le) = self.static_coll(l, sources)?;
        let (rc, re) = self.static_coll(r, sources)?;
        Some(if le {
            lc.unwrap_or(Coll::Binary)
        } else if re {
            rc.unwrap_or(Coll::Binary)
        } else {
            lc.or(rc).unwrap_or(Coll::Binary)
        })
    }

    /// Whether a comparison between column `col` and `other` can use key order: the
    /// comparison's affinity conversions do not change the column side. (Its collation must
    /// also be the key column's: see `column_constraints`.)
    fn indexable(&self, t: &TableDef, col: usize, other: &Expr, sources: &[Source]) -> bool {
        if col == usize::MAX {
            return true;
        }
        let c = &t.columns[col];
        // A numeric column is never converted for a comparison; a TEXT or BLOB column is when
        // the other side is numeric (then key order would not be comparison order).
        if c.affinity.is_numeric() {
            return true;
        }
        // Key probes get the column's affinity; a TEXT column compared with a BLOB-affinity
        // column converts neither side (an integer there is below every TEXT key, not the
        // text of its digits), so such a comparison cannot seek the TEXT column's keys.
        match self.static_affinity(other, sources) {
            Some(Some(Affinity::Blob)) if c.affinity == Affinity::Text => false,
            Some(other_aff) => Conv::for_operands(Some(c.affinity), other_aff).left.is_none(),
            None => false,
        }
    }

    /// The comparison affinity of an expression without compiling it: `Some(None)` for no
    /// affinity, `None` when it cannot be told (a column of an outer query).
    fn static_affinity(&self, e: &Expr, sources: &[Source]) -> Option<Option<Affinity>> {
        match e {
            Expr::Cast { type_name, .. } => Some(Some(Affinity::of_type(Some(type_name)))),
            Expr::Column { table, name } => {
                for s in sources {
                    if table.as_deref().is_some_and(|q| !q.eq_ignore_ascii_case(&s.alias)) {
                        continue;
                    }
                    if let Ok(Some(i)) = s.frame.find(table.as_deref(), name) {
                        return Some(s.frame.cols[i].aff);
                    }
                }
                self.outer_column(table.as_deref(), name).map(|c| c.aff)
            }
            Expr::Collate { expr, .. } => self.static_affinity(expr, sources),
            Expr::Subquery(_) => None,
            Expr::Unary { op: UnaryOp::Plus, .. } => Some(None),
            _ => Some(None),
        }
    }

    /// The access path of source `i` when `placed` are bound, with its estimated cost: the
    /// cheapest key path by estimated rows read (an index that must fetch each row costs
    /// more than the table's own key or a covering index). With an ordering goal (`order`)
    /// for this source, a path that serves it saves the sort and, under a LIMIT, reads only
    /// what the LIMIT needs; then unconstrained paths are candidates too. `None`: a plain
    /// scan of the table. `or_depth` counts the ORs it is inside (their disjuncts are
    /// planned with this too).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn best_access(
        &self,
        t: &Arc<TableDef>,
        s: &Source,
        i: usize,
        placed: u64,
        conjs: &[Conj],
        sources: &[Source],
        goal: Option<&OrderGoal>,
        covers: &dyn Fn(&IndexDef) -> bool,
        or_depth: usize,
    ) -> Result<Option<(u64, Access)>> {
        let cons = self.column_constraints(t, s, i, placed, conjs, sources);
        let has_or = conjs.iter().any(|c| matches!(c.e, Expr::Binary { op: BinaryOp::Or, .. }));
        if cons.is_empty() && goal.is_none() && !has_or {
            return Ok(None);
        }
        let bit = 1u64 << i;
        // This source's conjuncts, equalities apart: those the path does not use still filter.
        let (mut local_eq, mut local) = (0usize, 0usize);
        for c in conjs.iter().filter(|c| c.mask & bit != 0 && c.mask & !(placed | bit) == 0) {
            match c.e {
                Expr::Binary { op: BinaryOp::Eq, .. } => local_eq += 1,
                _ => local += 1,
            }
        }
        let mut best: Option<(u64, Access)> = None;
        let n = s.rows.max(1);
        for (ix, (cols, unique)) in key_paths(t).into_iter().enumerate() {
            let index = if ix == 0 { None } else { Some(t.indexes[ix - 1].clone()) };
            let mut a = Access { index, ..Access::default() };
            for c in &cols {
                match cons.iter().find(|(cc, k)| cc == c && matches!(k, ColCons::Eq(_) | ColCons::IsNull)) {
                    Some((_, ColCons::Eq(e))) => a.eq.push(Some((*e).clone())),
                    Some((_, ColCons::IsNull)) => a.eq.push(None),
                    _ => break,
                }
            }
            if let Some(next) = cols.get(a.eq.len()) {
                if let Some((_, ColCons::In(list))) =
                    cons.iter().find(|(cc, k)| cc == next && matches!(k, ColCons::In(_)))
                {
                    a.in_list = Some(list.to_vec());
                } else if let Some((_, ColCons::InSub(e))) =
                    cons.iter().find(|(cc, k)| cc == next && matches!(k, ColCons::InSub(_)))
                {
                    a.in_sub = Some((*e).clone());
                } else if let Some((_, ColCons::Like(p, glob))) =
                    cons.iter().find(|(cc, k)| cc == next && matches!(k, ColCons::Like(..)))
                {
                    a.like = Some(((*p).clone(), *glob));
                } else {
                    for (cc, k) in &cons {
                        if cc != next {
                            continue;
                        }
                        match k {
                            ColCons::Lo(e, incl) if a.lo.is_none() => a.lo = Some(((*e).clone(), *incl)),
                            ColCons::Hi(e, incl) if a.hi.is_none() => a.hi = Some(((*e).clone(), *incl)),
                            _ => {}
                        }
                    }
                }
            }
            let eq = a.eq.len();
            let used = eq
                + a.in_list.is_some() as usize
                + a.in_sub.is_some() as usize
                + a.like.is_some() as usize
                + a.lo.is_some() as usize
                + a.hi.is_some() as usize;
            let est = if eq == cols.len() && unique {
                1
            } else if eq > 0 {
                self.eq_rows(t, ix, n, eq)
            } else if let Some(l) = &a.in_list {
                l.len() as u64 * 2
            } else if a.in_sub.is_some() {
                // A subquery's values: assume a few dozen.
                50
            } else if a.like.is_some() || (a.lo.is_some() && a.hi.is_some()) {
                // A prefix, or both ends of a range: a sixteenth.
                (n / 16).max(2)
            } else if a.lo.is_some() || a.hi.is_some() {
                (n / 4).max(2)
            } else if goal.is_some() {
                n
            } else {
                continue;
            };
            // Rows an index must fetch from the table cost more than rows read in place.
            let fetch = match &a.index {
                Some(ix) if !covers(ix) => 3,
                _ => 1,
            };
            let mut cost = est.saturating_mul(fetch);
            if let Some(g) = goal {
                let key = full_key(t, a.index.as_deref());
                a.served = g.served_by(&key, eq);
                let unused = (local_eq.saturating_sub(eq), local.saturating_sub(used - eq));
                match (a.served, g.kind) {
                    (Some(_), GoalKind::MinMax) => cost = fetch,
                    (Some(_), _) => cost = g.rows_read(est, unused).saturating_mul(fetch),
                    (None, GoalKind::Sort) => {
                        let out = (est / OrderGoal::filtered(unused)).max(1);
                        cost = cost.saturating_add(out.saturating_mul(64 - out.leading_zeros() as u64) / 2);
                    }
                    // A hash table of the groups.
                    (None, GoalKind::Group) => cost = cost.saturating_add(est / 2),
                    (None, GoalKind::MinMax) => {}
                }
                // min(): the NULL keys of the column come first; skip them.
                if g.kind == GoalKind::MinMax && a.served.is_some() && a.lo.is_none() && a.hi.is_none() {
                    // (Only when that column is the goal's: after its equalities, not one an
                    // equality binds.)
                    a.not_null = a.in_list.is_none()
                        && a.in_sub.is_none()
                        && a.like.is_none()
                        && key.get(eq).is_some_and(|k| k.0 != usize::MAX && k.0 == g.terms[0].col);
                }
            }
            // Prefer the table's own key on ties (no second lookup).
            let cost = cost.saturating_mul(2) + (ix != 0) as u64;
            // Which sources the key expressions read (an IN (subquery) is left out: it is
            // used only when it reads no row around it, which its compilation checks).
            let mut reads = 0u64;
            for e in
                a.eq.iter()
                    .flatten()
                    .chain(a.in_list.iter().flatten())
                    .chain(a.lo.iter().map(|x| &x.0))
                    .chain(a.hi.iter().map(|x| &x.0))
                    .chain(a.like.iter().map(|x| &x.0))
            {
                reads |= self.mask_of(e, sources);
            }
            a.reads_left = reads & placed != 0;
            if best.as_ref().is_none_or(|(b, _)| cost < *b) {
                best = Some((cost, a));
            }
        }
        // An OR of terms that each have an access path: the union of those paths' rows.
        if or_depth < 2 {
            for c in conjs.iter().filter(|c| c.mask & bit != 0 && c.mask & !(placed | bit) == 0) {
                let Some((cost, branches)) = self.or_paths(t, s, i, placed, c.e, sources, or_depth)? else { continue };
                if best.as_ref().is_none_or(|(b, _)| cost < *b) {
                    let reads_left = branches.iter().any(|b| b.reads_left);
                    best = Some((cost, Access { reads_left, or_branches: branches, ..Access::default() }));
                }
            }
        }
        Ok(best)
    }

    /// The access paths of each disjunct of `e` (an OR) and their summed cost, when every
    /// disjunct has one; None otherwise.
    #[allow(clippy::too_many_arguments)]
    fn or_paths(
        &self,
        t: &Arc<TableDef>,
        s: &Source,
        i: usize,
        placed: u64,
        e: &Expr,
        sources: &[Source],
        or_depth: usize,
    ) -> Result<Option<(u64, Vec<Access>)>> {
        let Expr::Binary { op: BinaryOp::Or, .. } = e else { return Ok(None) };
        let mut disjuncts = Vec::new();
        disjunctions(e, &mut disjuncts);
        let mut total = 0u64;
        let mut branches = Vec::with_capacity(disjuncts.len());
        for d in disjuncts {
            let mut parts = Vec::new();
            conjuncts(d, &mut parts);
            let conjs: Vec<Conj> =
                parts.into_iter().map(|e| Conj { e, mask: self.mask_of(e, sources), used: false }).collect();
            let never = |_: &IndexDef| false;
            match self.best_access(t, s, i, placed, &conjs, sources, None, &never, or_depth + 1)? {
                Some((cost, a)) if a.or_branches.is_empty() && a.constrained() => {
                    total = total.saturating_add(cost);
                    branches.push(a);
                }
                _ => return Ok(None),
            }
        }
        Ok(Some((total, branches)))
    }

    pub(super) fn compile_keys(&mut self, a: &Access, frames: &[Frame]) -> Result<KeySpec> {
        let mut k = KeySpec::default();
        for e in &a.eq {
            k.eq.push(match e {
                Some(e) => Some(self.compile(e, frames, None)?.e),
                None => None,
            });
        }
        if let Some(list) = &a.in_list {
            k.in_list = Some(list.iter().map(|e| Ok(self.compile(e, frames, None)?.e)).collect::<Result<_>>()?);
        }
        if let Some((e, incl)) = &a.lo {
            k.lo = Some((self.compile(e, frames, None)?.e, *incl));
        }
        if let Some((e, incl)) = &a.hi {
            k.hi = Some((self.compile(e, frames, None)?.e, *incl));
        }
        if let Some(Expr::InSubquery { query, .. }) = &a.in_sub {
            // Only the subquery's values are wanted: `NULL IN (subquery)` compiles it with
            // the collation and affinity of its own column. One that reads rows around it
            // cannot run when the scan opens: the column is then read in full.
            let probe =
                Expr::InSubquery { expr: Box::new(Expr::Literal(Value::Null)), query: query.clone(), negated: false };
            if let Ok(t) = self.compile(&probe, frames, None) {
                if matches!(&t.e, CExpr::InSub { sub, .. } if !sub.correlated) {
                    k.in_sub = Some(Box::new(t.e));
                }
            }
        }
        if let Some((p, glob)) = &a.like {
            k.like = Some(Box::new((self.compile(p, frames, None)?.e, *glob)));
        }
        k.not_null = a.not_null;
        Ok(k)
    }

    /// Which columns of table `t` (source `alias`) the SELECT reads (by row position), or
    /// None when it may read any (`*`, subqueries, a name that does not resolve cleanly).
    /// Scans decode only these; the others read as NULL.
    pub(super) fn needed_columns(
        &self,
        t: &TableDef,
        alias: &str,
        sel: &Select,
        order: &[OrderItem],
        conjs: &[Conj],
        lconjs: &[Vec<Conj>],
    ) -> Option<Arc<[bool]>> {
        let frame = Frame::of_table(t, alias);
        let mut exprs: Vec<&Expr> = Vec::new();
        for rc in &sel.columns {
            match rc {
                ResultColumn::Expr { expr, .. } => exprs.push(expr),
                _ => return None,
            }
        }
        exprs.extend(conjs.iter().chain(lconjs.iter().flatten()).map(|c| c.e));
        exprs.extend(sel.group_by.iter());
        exprs.extend(sel.having.iter());
        exprs.extend(order.iter().map(|o| &o.expr));
        let mut need = vec![false; frame.cols.len()];
        let mut ok = true;
        for e in exprs {
            if has_subquery(e) {
                return None;
            }
            walk(e, &mut |x| {
                if let Expr::Column { table, name } = x {
                    if table.as_deref().is_some_and(|q| !q.eq_ignore_ascii_case(alias)) {
                        return;
                    }
                    match frame.find(table.as_deref(), name) {
                        Ok(Some(i)) => match need.get_mut(i) {
                            Some(n) => *n = true,
                            None => ok = false,
                        },
                        Ok(None) => {}
                        Err(_) => ok = false,
                    }
                }
            });
        }
        ok.then(|| need.into())
    }

    /// Whether index `ix` holds every column of source `alias` that the query reads.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn covers(
        &self,
        t: &TableDef,
        ix: &IndexDef,
        alias: &str,
        sel: &Select,
        order: &[OrderItem],
        conjs: &[Conj],
        lconjs: &[Vec<Conj>],
    ) -> bool {
        // Keys hold collated columns folded (NOCASE, RTRIM): those values come from the row.
        let binary = |colls: &[Coll], i: usize| colls.get(i).is_none_or(|c| *c == Coll::Binary);
        let mut have: Vec<usize> =
            ix.columns.iter().enumerate().filter(|(i, _)| binary(&ix.colls, *i)).map(|(_, (c, _))| *c).collect();
        match &t.pk {
            PrimaryKey::Rowid { alias: a } => {
                have.push(t.columns.len());
                if let Some(a) = a {
                    have.push(*a);
                }
            }
            PrimaryKey::Columns(cols) => {
                have.extend(cols.iter().enumerate().filter(|(i, _)| binary(&t.pk_colls, *i)).map(|(_, (c, _))| *c))
            }
        }
        // A column without a type may hold both 1 and 1.0, which keys do not tell apart.
        have.retain(|c| *c >= t.columns.len() || t.columns[*c].affinity != Affinity::Blob);
        let frame = Frame::of_table(t, alias);
        let reads_only_key = |e: &Expr| -> bool {
            if has_subquery(e) {
                return false;
            }
            let mut ok = true;
            walk(e, &mut |x| {
                if let Expr::Column { table, name } = x {
                    if table.as_deref().is_some_and(|q| !q.eq_ignore_ascii_case(alias)) {
                        return;
                    }
                    if let Ok(Some(i)) = frame.find(table.as_deref(), name) {
                        if !have.contains(&i) {
                            ok = false;
                        }
                    }
                }
            });
            ok
        };
        sel.columns.iter().all(|rc| matches!(rc, ResultColumn::Expr { expr, .. } if reads_only_key(expr)))
            && conjs.iter().chain(lconjs.iter().flatten()).all(|c| reads_only_key(c.e))
            && sel.group_by.iter().all(reads_only_key)
            && sel.having.as_ref().is_none_or(reads_only_key)
            && order.iter().all(|o| reads_only_key(&o.expr))
    }

    /// If `e` is `left_expr = right_expr` with one side reading only the left layout and the
    /// other only the right source, compile both sides as hash keys (with the comparison's
    /// affinity conversions applied).
    pub(super) fn equi_keys(
        &mut self,
        e: &Expr,
        left: &Frame,
        right: &Frame,
        outer: &[Frame],
    ) -> Result<Option<(CExpr, CExpr)>> {
        let Expr::Binary { op: BinaryOp::Eq, left: a, right: b } = e else { return Ok(None) };
        if has_subquery(e) {
            return Ok(None);
        }
        let reads = |x: &Expr, f: &Frame| {
            let mut all = true;
            let mut any = false;
            walk(x, &mut |n| {
                if let Expr::Column { table, name } = n {
                    if f.find(table.as_deref(), name).ok().flatten().is_some() {
                        any = true;
                    } else {
                        all = false;
                    }
                }
            });
            any && all
        };
        let (l, r) = if reads(a, left) && reads(b, right) {
            (a, b)
        } else if reads(b, left) && reads(a, right) {
            (b, a)
        } else {
            return Ok(None);
        };
        let mut lf = outer.to_vec();
        lf.push(left.clone());
        let mut rf = outer.to_vec();
        rf.push(right.clone());
        let lt = self.compile(l, &lf, None)?;
        let rt = self.compile(r, &rf, None)?;
        // Hash keys compare with BINARY: other collations join by nested loop.
        let coll = if core::ptr::eq(&**l, &**a) { pick_coll(&lt, &rt) } else { pick_coll(&rt, &lt) };
        if coll != Coll::Binary {
            return Ok(None);
        }
        let conv = Conv::for_operands(lt.aff, rt.aff);
        let wrap = |e: CExpr, a: Option<Affinity>| match a {
            None => e,
            Some(a) => CExpr::Func(conv_fn(a), vec![e]),
        };
        Ok(Some((wrap(lt.e, conv.left), wrap(rt.e, conv.right))))
    }
}

/// An access path under construction.
#[derive(Default)]
pub(super) struct Access {
    pub(super) index: Option<Arc<IndexDef>>,
    pub(super) eq: Vec<Option<Expr>>,
    pub(super) in_list: Option<Vec<Expr>>,
    pub(super) lo: Option<(Expr, bool)>,
    pub(super) hi: Option<(Expr, bool)>,
    pub(super) reads_left: bool,
    /// How it serves the query's ordering goal (`order`), if it does.
    pub(super) served: Option<Served>,
    /// Skip the NULL keys of the column after the equalities (min() served by the path).
    pub(super) not_null: bool,
    /// `x IN (SELECT ...)` on the next key column (instead of `in_list` or a range).
    pub(super) in_sub: Option<Expr>,
    /// `LIKE` (false) / `GLOB` (true) pattern on the next key column.
    pub(super) like: Option<(Expr, bool)>,
    /// A union of paths, one per disjunct of an OR (then nothing above applies).
    pub(super) or_branches: Vec<Access>,
}

impl Access {
    /// Whether the path narrows what is read.
    pub(super) fn constrained(&self) -> bool {
        !self.eq.is_empty()
            || self.in_list.is_some()
            || self.in_sub.is_some()
            || self.like.is_some()
            || self.lo.is_some()
            || self.hi.is_some()
    }
}

/// The disjuncts of an OR chain.
fn disjunctions<'q>(e: &'q Expr, out: &mut Vec<&'q Expr>) {
    match e {
        Expr::Binary { op: BinaryOp::Or, left, right } => {
            disjunctions(left, out);
            disjunctions(right, out);
        }
        e => out.push(e),
    }
}

/// The key paths of a table: its own key (index 0: rowid as `usize::MAX`, or the primary key
/// columns) then each index's columns; with whether the full key is unique.
fn key_paths(t: &TableDef) -> Vec<(Vec<(usize, Coll)>, bool)> {
    let with = |cols: &[(usize, bool)], colls: &[Coll]| -> Vec<(usize, Coll)> {
        cols.iter().enumerate().map(|(i, (c, _))| (*c, colls.get(i).copied().unwrap_or(Coll::Binary))).collect()
    };
    let mut v = Vec::with_capacity(t.indexes.len() + 1);
    match &t.pk {
        PrimaryKey::Rowid { .. } => v.push((vec![(usize::MAX, Coll::Binary)], true)),
        PrimaryKey::Columns(cols) => v.push((with(cols, &t.pk_colls), true)),
    }
    for ix in &t.indexes {
        v.push((with(&ix.columns, &ix.colls), ix.unique));
    }
    v
}

impl Planner<'_> {
    /// Rows an equality on the first `eq` columns of key path `path` of `t` (0: the table's
    /// own key, then its indexes; not a whole unique key) is estimated to match, of `n`.
    /// With statistics from ANALYZE, their average for that prefix; without, as SQLite
    /// assumes: about 10 for one column, fewer for more (and never more than the table).
    fn eq_rows(&self, t: &TableDef, path: usize, n: u64, eq: usize) -> u64 {
        let name = match path {
            0 if !t.has_rowid() => Some(&t.name),
            0 => None,
            p => t.indexes.get(p - 1).map(|ix| &ix.name),
        };
        let stat = name.and_then(|nm| crate::sql::catalog::stats_of(&self.schema.stats, nm));
        match stat.and_then(|s| s.get(eq)) {
            Some(&avg) => avg.clamp(1, n.max(1)),
            None => (10u64 >> (eq.saturating_sub(1)).min(3)).max(2).min(n),
        }
    }
}
