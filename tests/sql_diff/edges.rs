//! Generator parts for the classes of issue 17 that are not about conflicts or collations:
//! ALTER TABLE (ADD / DROP / RENAME COLUMN, RENAME TO) followed by the usual statements,
//! aggregates of an outer query written inside a subquery, LEFT JOINs whose ON is a constant
//! or a subquery, bit operations and conversions on text, the 2^63 edges and text holding a
//! NUL.
//!
//! Huge values and NULs appear only inside expressions, never stored: a stored 2^63 edge
//! would make sum() overflow or total() cancel depending on the order rows are added in,
//! which SQLite leaves unspecified.
//!
//! Not generated: text that is not valid UTF-8 (`CAST(x'ff' AS TEXT)`). Tessera's text is a
//! Rust `String` and such bytes become U+FFFD, where SQLite keeps them; see docs/SQL.md.

use super::generator::Src;
use super::*;

/// Values at the edges of SQLite's conversions, written as SQL expressions.
const EDGES: [&str; 16] = [
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "9.223372036854775807e18",
    "-9.223372036854775808e18",
    "'9223372036854775807'",
    "'-9223372036854775809'",
    "'9223372036854775808'",
    "'4503599627370496.0'",
    "'2251799813685247.0'",
    "'1e2'",
    "' 12abc'",
    "'0x1F'",
    "('7' || char(0) || '5')",
    "(char(0) || '3')",
    "x'3500'",
];

impl Gen {
    /// An expression on the edges of conversions: bit operators, CAST, arithmetic and
    /// comparisons over edge values, text and the columns in `ctx`.
    pub(super) fn edge_expr(&mut self, ctx: &[Src], depth: u32) -> String {
        let operand = |g: &mut Gen| {
            if g.rng.chance(50) {
                g.rng.pick(&EDGES).to_string()
            } else {
                g.expr(ctx, depth.saturating_sub(1))
            }
        };
        match self.rng.below(6) {
            0 | 1 => {
                let op = *self.rng.pick(&["<<", ">>", "&", "|"]);
                let rhs = if op.len() == 2 && self.rng.chance(60) {
                    self.rng.pick(&["1", "3", "-1", "63", "64", "'2'", "1.9"]).to_string()
                } else {
                    operand(self)
                };
                format!("({} {op} {rhs})", operand(self))
            }
            2 => format!("(~{})", operand(self)),
            3 => {
                let ty = *self.rng.pick(&["INTEGER", "REAL", "NUMERIC", "TEXT"]);
                format!("CAST({} AS {ty})", operand(self))
            }
            4 => {
                let op = *self.rng.pick(&["+", "-", "*", "%"]);
                format!("({} {op} {})", operand(self), self.rng.pick(&["0", "1", "-1", "2.5", "'1'"]))
            }
            _ => {
                let op = self.cmp_op();
                format!("({} {op} {})", operand(self), operand(self))
            }
        }
    }

    /// A scalar subquery of an aggregate query holding an aggregate of the outer query's
    /// columns (`(SELECT max(a0.b))`), alone or beside a FROM of its own.
    pub(super) fn outer_aggregate(&mut self, ctx: &[Src]) -> String {
        let c = self.colref(ctx);
        let agg = match self.rng.below(6) {
            0 => format!("count({c})"),
            1 => format!("max({c})"),
            2 => format!("min({c})"),
            3 => format!("total({c})"),
            4 => format!("length(group_concat({c}))"),
            _ => format!("count(*) + count({c})"),
        };
        match self.rng.below(4) {
            0 => format!("(SELECT {agg})"),
            3 => format!("(SELECT (SELECT {agg}) + 1)"),
            1 => {
                let (src, from, _) = self.sub_source(ctx);
                let inner = self.colref_of(&src, false);
                format!("(SELECT {agg} + count({inner}) FROM {from})")
            }
            _ => {
                let (src, from, inner) = self.sub_source(&[]);
                let w = self.pred(&inner, 1);
                let _ = src;
                format!("(SELECT {agg} FROM {from} WHERE {w} LIMIT 1)")
            }
        }
    }

    /// The ON of a LEFT JOIN: usually `cond`, sometimes a constant or a subquery, alone or
    /// with it.
    pub(super) fn left_on(&mut self, cond: String, srcs: &[Src], right: &Src) -> String {
        let odd = match self.rng.below(8) {
            0 => "(SELECT 0)".to_string(),
            1 => "(SELECT 1)".to_string(),
            2 => self.rng.pick(&["0", "1", "NULL"]).to_string(),
            3 => {
                let (src, from, _) = self.sub_source(&[]);
                let c = self.colref_of(&src, true);
                let r = self.colref_of(right, true);
                format!("EXISTS (SELECT 1 FROM {from} WHERE {c} = {r})")
            }
            4 => {
                let l = self.colref(srcs);
                let (src, from, _) = self.sub_source(&[]);
                let c = self.colref_of(&src, false);
                format!("{l} IN (SELECT {c} FROM {from})")
            }
            _ => return cond,
        };
        if self.rng.chance(50) {
            odd
        } else {
            format!("{cond} AND {odd}")
        }
    }

    /// An ALTER TABLE on table `t` and the model change it makes when SQLite accepts it. Some
    /// are refused on purpose (dropping a key or indexed column, a duplicate name, a NOT NULL
    /// column without a default, a non-constant default): both sides must refuse them.
    pub(super) fn alter(&mut self, t: usize) -> (String, Alter) {
        let name = self.tables[t].name.clone();
        let names: Vec<&'static str> = self.tables[t].cols.iter().map(|c| c.name).collect();
        let ncols = names.len();
        match self.rng.below(10) {
            0..=3 => {
                let Some(col) = ADDED_NAMES.iter().copied().find(|n| !names.contains(n)) else {
                    return (format!("SELECT 1 FROM {name}"), Alter::Nothing);
                };
                let ty = *self.rng.pick(&TYPES);
                let default = match self.rng.below(5) {
                    0 => None,
                    // Non-constant for SQLite (refused when the table has rows); no clock or
                    // random() here: both sides would draw different values.
                    1 => Some(self.rng.pick(&["(1 + 1)", "(abs(-3))", "(CAST('4' AS INTEGER))"]).to_string()),
                    // A REAL literal in exponent form on a TEXT column reads back as its
                    // token text in SQLite ('1e3'), not as the number ('1000.0'): not generated.
                    _ if ty == Some("TEXT") => {
                        Some(if self.rng.chance(50) { self.int_literal() } else { self.text_literal() })
                    }
                    _ => Some(self.literal(ty)),
                };
                let not_null = self.rng.chance(15);
                // A CHECK naming the new column, sometimes another one too (which then cannot
                // be dropped).
                let check = self.rng.chance(20).then(|| {
                    let other =
                        if self.rng.chance(40) { names[self.rng.below(ncols)].to_string() } else { self.literal(None) };
                    format!("{col} IS NULL OR {col} {} {other}", self.cmp_op())
                });
                let coll = self.column_collation();
                let mut sql = format!("ALTER TABLE {name} ADD COLUMN {col}");
                if let Some(ty) = ty {
                    let _ = write!(sql, " {ty}");
                }
                if not_null {
                    sql.push_str(" NOT NULL");
                }
                if let Some(d) = &default {
                    let _ = write!(sql, " DEFAULT {d}");
                }
                if let Some(c) = &check {
                    let _ = write!(sql, " CHECK ({c})");
                }
                if let Some(c) = coll {
                    let _ = write!(sql, " COLLATE {c}");
                }
                let column = Column { name: col, ty, not_null, unique: false, default, coll };
                (sql, Alter::Add(column))
            }
            4..=6 => {
                let i = self.rng.below(ncols);
                (format!("ALTER TABLE {name} DROP COLUMN {}", names[i]), Alter::Drop(i))
            }
            7 | 8 => {
                let i = self.rng.below(ncols);
                let new =
                    if self.rng.chance(15) { names[self.rng.below(ncols)] } else { *self.rng.pick(&RENAMED_NAMES) };
                (format!("ALTER TABLE {name} RENAME COLUMN {} TO {new}", names[i]), Alter::Rename(i, new))
            }
            _ => {
                let new = if self.rng.chance(20) { name.clone() } else { format!("{name}r{}", self.rng.below(3)) };
                (format!("ALTER TABLE {name} RENAME TO {new}"), Alter::RenameTable(new))
            }
        }
    }

    /// Apply an accepted ALTER to the model.
    pub(super) fn apply_alter(&mut self, t: usize, alter: Alter) {
        let table = &mut self.tables[t];
        match alter {
            Alter::Nothing => {}
            Alter::Add(c) => table.cols.push(c),
            Alter::Drop(i) => {
                table.cols.remove(i);
                let shift = |k: &mut usize| {
                    if *k > i {
                        *k -= 1
                    }
                };
                table.pk.iter_mut().for_each(shift);
                for ix in &mut table.indexes {
                    ix.cols.iter_mut().for_each(|(k, _)| shift(k));
                }
            }
            Alter::Rename(i, new) => table.cols[i].name = new,
            Alter::RenameTable(new) => table.name = new,
        }
    }
}

/// What an ALTER TABLE does to the model.
pub(super) enum Alter {
    Nothing,
    Add(Column),
    Drop(usize),
    Rename(usize, &'static str),
    RenameTable(String),
}

/// Names for added columns.
const ADDED_NAMES: [&str; 8] = ["f", "g", "h", "i", "j", "k", "l", "m"];
/// Names columns are renamed to.
const RENAMED_NAMES: [&str; 6] = ["ra", "rb", "rc", "rd", "re", "rf"];
