//! The case generator of `sql_diff`: random schemas, data, DML and queries within what SQLite
//! defines (see the rules in `tests/sql_diff.rs`).

use super::*;

/// A table visible to an expression under an alias.
#[derive(Clone)]
pub(super) struct Src {
    pub(super) alias: String,
    pub(super) table: usize,
}

/// How a query's rows are ordered.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ordered {
    /// Has LIMIT (the last run of equal keys may be cut).
    pub(super) limit: bool,
    /// Has OFFSET (the first run of equal keys may be cut).
    pub(super) offset: bool,
}

pub(super) struct Query {
    pub(super) sql: String,
    pub(super) order: Option<Ordered>,
}

pub(super) struct Gen {
    pub(super) rng: Rng,
    pub(super) tables: Vec<Table>,
    pub(super) next_alias: usize,
    pub(super) next_index: usize,
    /// The collation of every column of the case, if any (see `collation`).
    pub(super) case_coll: Option<&'static str>,
}

impl Gen {
    pub(super) fn new(seed: u64) -> Gen {
        let mut g = Gen { rng: Rng::new(seed), tables: Vec::new(), next_alias: 0, next_index: 0, case_coll: None };
        g.case_coll = g.case_collation();
        let n = 2 + g.rng.below(2);
        for t in 0..n {
            let table = g.table(t);
            g.tables.push(table);
        }
        g
    }

    pub(super) fn table(&mut self, t: usize) -> Table {
        let ncols = 2 + self.rng.below(4);
        let pk_kind = self.rng.below(3); // 0: INTEGER PRIMARY KEY, 1: PRIMARY KEY(..), 2: none
        let mut cols = Vec::new();
        for (i, &name) in COLUMN_NAMES.iter().enumerate().take(ncols) {
            let ty = if i == 0 && pk_kind == 0 { Some("INTEGER") } else { *self.rng.pick(&TYPES) };
            let default = if self.rng.chance(12) { Some(self.literal(ty)) } else { None };
            let coll = self.column_collation();
            cols.push(Column { name, ty, not_null: self.rng.chance(8), unique: false, default, coll });
        }
        let mut pk = Vec::new();
        if pk_kind == 1 {
            let first = self.rng.below(ncols);
            pk.push(first);
            if self.rng.chance(60) {
                let second = self.rng.below(ncols);
                if second != first {
                    pk.push(second);
                }
            }
            for &c in &pk {
                cols[c].not_null = true;
            }
        }
        let ipk = pk_kind == 0;
        for (i, col) in cols.iter_mut().enumerate() {
            let key = (ipk && i == 0) || pk.contains(&i);
            if !key && self.rng.chance(10) {
                col.unique = true;
            }
        }
        let mut table = Table { name: format!("t{t}"), cols, ipk, pk, indexes: Vec::new(), checks: Vec::new() };
        for _ in 0..self.rng.below(4) {
            let ix = self.index(&table);
            table.indexes.push(ix);
        }
        table
    }

    pub(super) fn index(&mut self, t: &Table) -> Index {
        let ncols = t.cols.len();
        let first = self.rng.below(ncols);
        let mut cols = vec![(first, self.rng.chance(15))];
        if self.rng.chance(40) {
            let second = self.rng.below(ncols);
            if second != first {
                cols.push((second, self.rng.chance(15)));
            }
        }
        self.next_index += 1;
        let colls = cols.iter().map(|_| self.index_collation()).collect();
        Index { name: format!("{}_i{}", t.name, self.next_index), unique: self.rng.chance(30), cols, colls }
    }

    pub(super) fn schema_ddl(&self) -> Vec<String> {
        let mut v = Vec::new();
        for t in &self.tables {
            v.push(t.ddl());
            for ix in &t.indexes {
                v.push(index_ddl(t, ix));
            }
        }
        v
    }

    // -- values ---------------------------------------------------------------------------

    pub(super) fn int_literal(&mut self) -> String {
        match self.rng.below(20) {
            0 => self.rng.pick(&["100", "-100", "1000000000", "-999999999", "2147483648", "4294967296"]).to_string(),
            1 => "0".into(),
            _ => self.rng.range(-3, 12).to_string(),
        }
    }

    pub(super) fn real_literal(&mut self) -> String {
        self.rng
            .pick(&[
                "0.5",
                "-1.5",
                "2.25",
                "3.75",
                "-0.125",
                "7.5",
                "10000000000.5",
                "2.0",
                "0.0",
                "1e3",
                "-2.5e-3",
                "12.0",
            ])
            .to_string()
    }

    pub(super) fn text_literal(&mut self) -> String {
        if self.rng.chance(40) {
            return self.collation_text();
        }
        self.rng
            .pick(&[
                "''",
                "'a'",
                "'b'",
                "'abc'",
                "'ABC'",
                "'Abc'",
                "'a%b'",
                "'x_y'",
                "'10'",
                "'5'",
                "' 7'",
                "'3.5'",
                "'1e2'",
                "'-4'",
                "'zz'",
                "'b a'",
                "'0.5x'",
                // Text that is not UTF-8 (SQLite keeps its bytes): a lone byte, stray
                // continuation bytes, an overlong é, a lead byte before ASCII, a surrogate.
                "(CAST(x'ff' AS TEXT))",
                "(CAST(x'80bf41' AS TEXT))",
                "(CAST(x'e083a9' AS TEXT))",
                "(x'c3' || 'a')",
                "(CAST(x'41eda080' AS TEXT))",
                "(CAST(x'c3a9' AS TEXT))",
            ])
            .to_string()
    }

    /// A literal, biased towards the column type `ty` but sometimes of any type.
    pub(super) fn literal(&mut self, ty: Option<&str>) -> String {
        let r = self.rng.below(100);
        if r < 10 {
            return "NULL".into();
        }
        if r < 13 {
            return self.rng.pick(&["x'6162'", "x''", "x'41'"]).to_string();
        }
        let class = if r < 70 {
            match ty {
                Some("INTEGER") => 0,
                Some("REAL") => 1,
                Some("TEXT") => 2,
                _ => self.rng.below(3),
            }
        } else {
            self.rng.below(3)
        };
        match class {
            0 => self.int_literal(),
            1 => self.real_literal(),
            _ => self.text_literal(),
        }
    }

    /// A value for column `col` of table `t` in an INSERT.
    pub(super) fn insert_value(&mut self, t: usize, col: usize) -> String {
        let table = &self.tables[t];
        let ty = table.cols[col].ty;
        if table.ipk && col == 0 {
            return match self.rng.below(20) {
                0..=8 => "NULL".into(),
                9 => self.rng.pick(&["'7'", "'x'", "2.0", "2.5", "' 3 '"]).to_string(),
                _ => self.rng.range(1, 40).to_string(),
            };
        }
        match self.rng.below(20) {
            // A small constant expression now and then.
            0 => format!("{} + {}", self.int_literal(), self.int_literal()),
            1 => format!("{} || {}", self.literal(None), self.text_literal()),
            _ => self.literal(ty),
        }
    }

    // -- expressions ----------------------------------------------------------------------

    pub(super) fn alias(&mut self, prefix: &str) -> String {
        self.next_alias += 1;
        format!("{prefix}{}", self.next_alias)
    }

    pub(super) fn colref(&mut self, ctx: &[Src]) -> String {
        if ctx.is_empty() {
            return self.literal(None);
        }
        let src = self.rng.pick(ctx).clone();
        let t = &self.tables[src.table];
        let indexed = t.indexed();
        let col = if !indexed.is_empty() && self.rng.chance(40) {
            *self.rng.pick(&indexed)
        } else {
            self.rng.below(t.cols.len())
        };
        format!("{}.{}", src.alias, t.cols[col].name)
    }

    /// A column reference of one particular source.
    pub(super) fn colref_of(&mut self, src: &Src, prefer_indexed: bool) -> String {
        let t = &self.tables[src.table];
        let indexed = t.indexed();
        let col = if prefer_indexed && !indexed.is_empty() && self.rng.chance(70) {
            *self.rng.pick(&indexed)
        } else {
            self.rng.below(t.cols.len())
        };
        format!("{}.{}", src.alias, t.cols[col].name)
    }

    /// A column or a literal (the operands of most comparisons).
    pub(super) fn operand(&mut self, ctx: &[Src]) -> String {
        if self.rng.chance(35) {
            self.literal(None)
        } else {
            self.colref(ctx)
        }
    }

    pub(super) fn expr(&mut self, ctx: &[Src], depth: u32) -> String {
        if depth == 0 {
            return self.operand(ctx);
        }
        let d = depth - 1;
        match self.rng.below(23) {
            0..=6 => self.colref(ctx),
            7 => self.literal(None),
            8 | 9 => {
                let op = *self.rng.pick(&["+", "-", "*", "/", "%", "/"]);
                let rhs = if (op == "/" || op == "%") && self.rng.chance(25) {
                    self.rng.pick(&["0", "0.0", "2", "-3"]).to_string()
                } else {
                    self.expr(ctx, d)
                };
                format!("({} {op} {rhs})", self.expr(ctx, d))
            }
            10 => format!("({} || {})", self.expr(ctx, d), self.expr(ctx, d)),
            11 => format!("CASE WHEN {} THEN {} ELSE {} END", self.pred(ctx, d), self.expr(ctx, d), self.expr(ctx, d)),
            12 => {
                let subject = self.expr(ctx, d);
                let mut s = format!("CASE {subject}");
                for _ in 0..1 + self.rng.below(2) {
                    let _ = write!(s, " WHEN {} THEN {}", self.literal(None), self.expr(ctx, d));
                }
                if self.rng.chance(60) {
                    let _ = write!(s, " ELSE {}", self.expr(ctx, d));
                }
                s.push_str(" END");
                s
            }
            13 => {
                let ty = *self.rng.pick(&["INTEGER", "REAL", "TEXT", "NUMERIC"]);
                format!("CAST({} AS {ty})", self.expr(ctx, d))
            }
            14 => match self.rng.below(3) {
                0 => format!("coalesce({}, {}, {})", self.expr(ctx, d), self.expr(ctx, d), self.literal(None)),
                1 => format!("ifnull({}, {})", self.expr(ctx, d), self.expr(ctx, d)),
                _ => format!("nullif({}, {})", self.expr(ctx, d), self.operand(ctx)),
            },
            15 | 16 => {
                let f = *self.rng.pick(&["abs", "length", "upper", "lower", "typeof", "-"]);
                if f == "-" {
                    format!("-({})", self.expr(ctx, d))
                } else {
                    format!("{f}({})", self.expr(ctx, d))
                }
            }
            17 => format!("substr({}, {}, {})", self.expr(ctx, d), self.rng.range(-2, 3), self.rng.range(0, 3)),
            18 => format!("({})", self.pred(ctx, d)),
            19 if depth >= 2 => self.scalar_subquery(ctx, d),
            20 => self.edge_expr(ctx, d),
            21 => self.collate_expr(ctx, d),
            _ => self.colref(ctx),
        }
    }

    pub(super) fn cmp_op(&mut self) -> &'static str {
        CMP_OPS[self.rng.below(CMP_OPS.len())]
    }

    pub(super) fn pred(&mut self, ctx: &[Src], depth: u32) -> String {
        let d = depth.saturating_sub(1);
        let choice = if depth == 0 { self.rng.below(6) } else { self.rng.below(19) };
        match choice {
            0 | 1 | 6 => {
                let op = self.cmp_op();
                let lhs = if depth > 0 && self.rng.chance(25) { self.expr(ctx, d) } else { self.colref(ctx) };
                format!("{lhs} {op} {}", self.operand(ctx))
            }
            2 => format!("{} IS {}NULL", self.colref(ctx), if self.rng.chance(50) { "NOT " } else { "" }),
            3 => {
                let (lo, hi) = (self.operand(ctx), self.operand(ctx));
                let not = if self.rng.chance(20) { "NOT " } else { "" };
                format!("{} {not}BETWEEN {lo} AND {hi}", self.colref(ctx))
            }
            4 => {
                let n = 1 + self.rng.below(4);
                let items: Vec<String> = (0..n).map(|_| self.literal(None)).collect();
                let not = if self.rng.chance(25) { "NOT " } else { "" };
                format!("{} {not}IN ({})", self.colref(ctx), items.join(", "))
            }
            5 => {
                let not = if self.rng.chance(20) { "NOT " } else { "" };
                // Now and then a GLOB, or a pattern made from a column (of another table of a
                // join too: an index on the operand is then looked up per row).
                let glob = self.rng.chance(20);
                let (op, any) = if glob { ("GLOB", "*") } else { ("LIKE", "%") };
                let pat = if self.rng.chance(25) {
                    format!("{} || '{any}'", self.colref(ctx))
                } else if glob {
                    self.rng.pick(&["'a*'", "'*b*'", "'?'", "'A?C'", "'*'", "'1*'", "'[ab]*'", "''"]).to_string()
                } else {
                    self.rng
                        .pick(&["'a%'", "'%b%'", "'_'", "'A_C'", "'%'", "'1%'", "'%.5'", "'x\\_y'", "''"])
                        .to_string()
                };
                format!("{} {not}{op} {pat}", self.colref(ctx))
            }
            7 => format!(
                "{} IS {}{}",
                self.colref(ctx),
                if self.rng.chance(50) { "NOT " } else { "" },
                self.operand(ctx)
            ),
            8 | 9 => format!("({} AND {})", self.pred(ctx, d), self.pred(ctx, d)),
            10 | 11 => format!("({} OR {})", self.pred(ctx, d), self.pred(ctx, d)),
            12 => format!("NOT ({})", self.pred(ctx, d)),
            13 if depth >= 2 => self.in_subquery(ctx, d),
            14 if depth >= 2 => self.exists_subquery(ctx, d),
            15 => {
                let op = self.cmp_op();
                format!("{} {op} {}", self.expr(ctx, d), self.expr(ctx, d))
            }
            17 | 18 => self.collate_pred(ctx, d),
            _ => {
                let op = self.cmp_op();
                format!("{} {op} {}", self.colref(ctx), self.colref(ctx))
            }
        }
    }

    /// A new source for a subquery, and the context inside it (outer sources stay visible).
    pub(super) fn sub_source(&mut self, ctx: &[Src]) -> (Src, String, Vec<Src>) {
        let table = self.rng.below(self.tables.len());
        let src = Src { alias: self.alias("s"), table };
        let from = format!("{} AS {}", self.tables[table].name, src.alias);
        let mut inner = ctx.to_vec();
        inner.push(src.clone());
        (src, from, inner)
    }

    /// A WHERE for a subquery over `src`, correlated with the outer sources most of the time.
    pub(super) fn sub_where(&mut self, src: &Src, outer: &[Src], inner: &[Src], depth: u32) -> String {
        let mut conds = Vec::new();
        if !outer.is_empty() && self.rng.chance(65) {
            let op = if self.rng.chance(75) { "=" } else { self.cmp_op() };
            conds.push(format!("{} {op} {}", self.colref_of(src, true), self.colref(outer)));
        }
        if conds.is_empty() || self.rng.chance(40) {
            conds.push(self.pred(inner, depth));
        }
        conds.join(" AND ")
    }

    pub(super) fn scalar_subquery(&mut self, ctx: &[Src], depth: u32) -> String {
        let (src, from, inner) = self.sub_source(ctx);
        let c = self.colref_of(&src, false);
        let agg = match self.rng.below(7) {
            0 => "count(*)".to_string(),
            1 => format!("count({c})"),
            2 => format!("max({c})"),
            3 => format!("min({c})"),
            4 => format!("sum({c})"),
            5 => format!("total({c})"),
            _ => format!("avg({c})"),
        };
        let w = self.sub_where(&src, ctx, &inner, depth);
        format!("(SELECT {agg} FROM {from} WHERE {w})")
    }

    pub(super) fn in_subquery(&mut self, ctx: &[Src], depth: u32) -> String {
        let lhs = self.colref(ctx);
        let (src, from, inner) = self.sub_source(ctx);
        let c = self.colref_of(&src, false);
        let not = if self.rng.chance(30) { "NOT " } else { "" };
        if self.rng.chance(30) {
            format!("{lhs} {not}IN (SELECT {c} FROM {from})")
        } else {
            let w = self.sub_where(&src, ctx, &inner, depth);
            format!("{lhs} {not}IN (SELECT {c} FROM {from} WHERE {w})")
        }
    }

    pub(super) fn exists_subquery(&mut self, ctx: &[Src], depth: u32) -> String {
        let (src, from, inner) = self.sub_source(ctx);
        let w = self.sub_where(&src, ctx, &inner, depth);
        let not = if self.rng.chance(30) { "NOT " } else { "" };
        format!("{not}EXISTS (SELECT 1 FROM {from} WHERE {w})")
    }

    pub(super) fn aggregate(&mut self, ctx: &[Src]) -> String {
        let c = self.colref(ctx);
        let arg = match self.rng.below(6) {
            0 => format!("{c} + {}", self.int_literal()),
            1 => format!("{c} - {}", self.real_literal()),
            _ => c.clone(),
        };
        match self.rng.below(11) {
            0 => "count(*)".into(),
            1 => format!("count({arg})"),
            2 => format!("count(DISTINCT {c})"),
            3 => format!("sum({arg})"),
            4 => format!("total({arg})"),
            5 => format!("avg({arg})"),
            6 => format!("min({arg})"),
            7 => format!("max({arg})"),
            8 => format!("length(group_concat({arg}))"),
            9 => format!("length(group_concat({c}, '|'))"),
            _ => format!("sum({c})"),
        }
    }

    // -- queries --------------------------------------------------------------------------

    /// FROM clause over 1 to 3 tables; returns the clause, the sources and conditions that the
    /// WHERE clause must add (join conditions of comma and CROSS joins).
    pub(super) fn gen_from(&mut self, force_join: bool) -> (String, Vec<Src>, Vec<String>) {
        let n = if force_join {
            2 + self.rng.chance(15) as usize
        } else {
            match self.rng.below(100) {
                0..=59 => 1,
                60..=94 => 2,
                _ => 3,
            }
        };
        let mut srcs: Vec<Src> = Vec::new();
        let mut from = String::new();
        let mut extra = Vec::new();
        for i in 0..n {
            let table = self.rng.below(self.tables.len());
            let src = Src { alias: format!("a{i}"), table };
            let name = self.tables[table].name.clone();
            if i == 0 {
                let _ = write!(from, "{name} AS {}", src.alias);
            } else {
                let cond = {
                    let prev = self.rng.pick(&srcs).clone();
                    let l = self.colref_of(&src, true);
                    let r = self.colref_of(&prev, true);
                    let mut c = format!("{l} = {r}");
                    if self.rng.chance(20) {
                        let mut both = srcs.clone();
                        both.push(src.clone());
                        let _ = write!(c, " AND {}", self.pred(&both, 1));
                    }
                    c
                };
                match self.rng.below(100) {
                    0..=44 => {
                        let _ = write!(from, " JOIN {name} AS {} ON {cond}", src.alias);
                    }
                    45..=74 => {
                        let on = self.left_on(cond, &srcs, &src);
                        let _ = write!(from, " LEFT JOIN {name} AS {} ON {on}", src.alias);
                    }
                    75..=84 => {
                        let _ = write!(from, " CROSS JOIN {name} AS {}", src.alias);
                        if self.rng.chance(70) {
                            extra.push(cond);
                        }
                    }
                    _ => {
                        let _ = write!(from, ", {name} AS {}", src.alias);
                        if self.rng.chance(80) {
                            extra.push(cond);
                        }
                    }
                }
            }
            srcs.push(src);
        }
        (from, srcs, extra)
    }

    pub(super) fn where_clause(&mut self, ctx: &[Src], extra: Vec<String>, percent: usize) -> String {
        let mut conds = extra;
        if self.rng.chance(percent) {
            conds.push(self.pred(ctx, 3));
        }
        if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        }
    }

    /// ORDER BY over all `ncols` output columns (positions, or the aliases `o<i>` when
    /// `aliases`), maybe with LIMIT/OFFSET.
    pub(super) fn order_by(&mut self, ncols: usize, aliases: bool) -> (String, Ordered) {
        let mut cols: Vec<usize> = (0..ncols).collect();
        for i in (1..cols.len()).rev() {
            let j = self.rng.below(i + 1);
            cols.swap(i, j);
        }
        let terms: Vec<String> = cols
            .iter()
            .map(|&c| {
                let name = if aliases { format!("o{c}") } else { (c + 1).to_string() };
                let name = name + &self.order_collation();
                let dir = *self.rng.pick(&["", " ASC", " DESC"]);
                let nulls = if self.rng.chance(10) { *self.rng.pick(&[" NULLS FIRST", " NULLS LAST"]) } else { "" };
                format!("{name}{dir}{nulls}")
            })
            .collect();
        let mut s = format!(" ORDER BY {}", terms.join(", "));
        let mut ordered = Ordered { limit: false, offset: false };
        if self.rng.chance(50) {
            let _ = write!(s, " LIMIT {}", self.rng.range(0, 8));
            ordered.limit = true;
            if self.rng.chance(40) {
                let _ = write!(s, " OFFSET {}", self.rng.range(0, 5));
                ordered.offset = true;
            }
        }
        (s, ordered)
    }

    pub(super) fn select_list(&mut self, items: &[String], aliases: bool) -> String {
        items
            .iter()
            .enumerate()
            .map(|(i, e)| if aliases { format!("{e} AS o{i}") } else { e.clone() })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(super) fn plain_select(&mut self, force_join: bool, ncols: Option<usize>, allow_order: bool) -> Query {
        let (from, ctx, extra) = self.gen_from(force_join);
        let star = ncols.is_none() && self.rng.chance(5);
        let n = ncols.unwrap_or_else(|| 1 + self.rng.below(4));
        let items: Vec<String> = (0..n).map(|_| self.expr(&ctx, 2)).collect();
        let aliases = !star && self.rng.chance(50);
        let list = if star { "*".to_string() } else { self.select_list(&items, aliases) };
        let total_cols = if star { ctx.iter().map(|s| self.tables[s.table].cols.len()).sum() } else { n };
        let distinct = if self.rng.chance(20) { "DISTINCT " } else { "" };
        let w = self.where_clause(&ctx, extra, 75);
        let mut sql = format!("SELECT {distinct}{list} FROM {from}{w}");
        let mut order = None;
        if allow_order && self.rng.chance(40) {
            let (o, ordered) = self.order_by(total_cols, aliases);
            sql.push_str(&o);
            order = Some(ordered);
        }
        Query { sql, order }
    }

    pub(super) fn group_expr(&mut self, ctx: &[Src]) -> String {
        let c = self.colref(ctx);
        match self.rng.below(10) {
            0 => format!("{c} % 3"),
            1 => format!("length({c})"),
            2 => format!("typeof({c})"),
            3 => format!("{c} IS NULL"),
            4 => format!("CAST({c} AS INTEGER)"),
            5 => format!("{c}{}", self.order_collation()),
            _ => c,
        }
    }

    pub(super) fn group_select(&mut self) -> Query {
        let (from, ctx, extra) = self.gen_from(false);
        let ngroups = 1 + self.rng.chance(35) as usize;
        let groups: Vec<String> = (0..ngroups).map(|_| self.group_expr(&ctx)).collect();
        let naggs = 1 + self.rng.below(3);
        let mut items = groups.clone();
        for _ in 0..naggs {
            let agg = if self.rng.chance(15) { self.outer_aggregate(&ctx) } else { self.aggregate(&ctx) };
            items.push(agg);
        }
        let aliases = self.rng.chance(40);
        let list = self.select_list(&items, aliases);
        let w = self.where_clause(&ctx, extra, 50);
        let mut sql = format!("SELECT {list} FROM {from}{w} GROUP BY {}", groups.join(", "));
        if self.rng.chance(30) {
            let agg = if self.rng.chance(15) { self.outer_aggregate(&ctx) } else { self.aggregate(&ctx) };
            let mut having = match self.rng.below(4) {
                0 => format!("{agg} IS NOT NULL"),
                1 => format!("count(*) > {}", self.rng.range(0, 2)),
                _ => format!("{agg} {} {}", self.cmp_op(), self.operand(&[])),
            };
            if self.rng.chance(25) {
                let _ = write!(having, " AND {} IS NOT NULL", groups[0]);
            }
            let _ = write!(sql, " HAVING {having}");
        }
        let mut order = None;
        if self.rng.chance(50) {
            let (o, ordered) = self.order_by(items.len(), aliases);
            sql.push_str(&o);
            order = Some(ordered);
        }
        Query { sql, order }
    }

    pub(super) fn aggregate_select(&mut self) -> Query {
        let (from, ctx, extra) = self.gen_from(false);
        let n = 1 + self.rng.below(3);
        let items: Vec<String> = (0..n)
            .map(|_| if self.rng.chance(20) { self.outer_aggregate(&ctx) } else { self.aggregate(&ctx) })
            .collect();
        let w = self.where_clause(&ctx, extra, 60);
        Query { sql: format!("SELECT {} FROM {from}{w}", items.join(", ")), order: None }
    }

    pub(super) fn compound_select(&mut self) -> Query {
        let ncols = 1 + self.rng.below(3);
        let mut sql = self.plain_select(false, Some(ncols), false).sql;
        for _ in 0..1 + self.rng.chance(25) as usize {
            let op = *self.rng.pick(&["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]);
            let core = self.plain_select(false, Some(ncols), false).sql;
            let _ = write!(sql, " {op} {core}");
        }
        let mut order = None;
        if self.rng.chance(50) {
            let (o, ordered) = self.order_by(ncols, false);
            sql.push_str(&collation::compound_order(&o));
            order = Some(ordered);
        }
        Query { sql, order }
    }

    pub(super) fn query(&mut self) -> Query {
        match self.rng.below(10) {
            0..=3 => self.plain_select(false, None, true),
            4 | 5 => self.group_select(),
            6 => self.aggregate_select(),
            7 | 8 => self.plain_select(true, None, true),
            _ => self.compound_select(),
        }
    }

    // -- DML and DDL ----------------------------------------------------------------------

    pub(super) fn insert(&mut self, t: usize, verb: Option<&str>) -> String {
        let verb = verb.unwrap_or_else(|| {
            *self.rng.pick(&[
                "INSERT INTO",
                "INSERT INTO",
                "INSERT INTO",
                "INSERT OR IGNORE INTO",
                "INSERT OR REPLACE INTO",
                "REPLACE INTO",
            ])
        });
        let name = self.tables[t].name.clone();
        let ncols = self.tables[t].cols.len();
        if self.rng.chance(3) {
            return format!("{verb} {name} DEFAULT VALUES");
        }
        let cols: Vec<usize> = match self.rng.below(4) {
            0 | 1 => (0..ncols).collect(),
            2 => {
                let mut c: Vec<usize> = (0..ncols).collect();
                for i in (1..c.len()).rev() {
                    let j = self.rng.below(i + 1);
                    c.swap(i, j);
                }
                c
            }
            _ => (0..ncols).filter(|_| self.rng.chance(60)).collect(),
        };
        if cols.is_empty() {
            return format!("{verb} {name} DEFAULT VALUES");
        }
        let list = if self.rng.chance(40) && cols.len() == ncols && cols.windows(2).all(|w| w[0] < w[1]) {
            String::new()
        } else {
            format!("({})", cols.iter().map(|&c| self.tables[t].cols[c].name).collect::<Vec<_>>().join(", "))
        };
        let nrows = 1 + self.rng.below(4);
        let rows: Vec<String> = (0..nrows)
            .map(|_| format!("({})", cols.iter().map(|&c| self.insert_value(t, c)).collect::<Vec<_>>().join(", ")))
            .collect();
        format!("{verb} {name}{list} VALUES {}", rows.join(", "))
    }

    /// The value of a SET: constants for constrained columns, expressions over the row (no
    /// subqueries, no products of columns) for the others.
    pub(super) fn set_value(&mut self, t: usize, col: usize, ctx: &[Src]) -> String {
        if self.tables[t].constrained(col) {
            return if self.tables[t].ipk && col == 0 {
                self.rng.range(1, 45).to_string()
            } else {
                self.literal(self.tables[t].cols[col].ty)
            };
        }
        let c = self.colref(ctx);
        match self.rng.below(12) {
            0 | 1 => self.literal(self.tables[t].cols[col].ty),
            2 => format!("{c} + {}", self.int_literal()),
            3 => format!("{c} - {}", self.real_literal()),
            4 => format!("{c} * 2"),
            5 => format!("{c} / {}", self.rng.pick(&["2", "0", "-3", "2.5"])),
            6 => format!("{c} || {}", self.text_literal()),
            7 => format!("CASE WHEN {} THEN {} ELSE {c} END", self.pred(ctx, 1), self.literal(None)),
            8 => format!("CAST({c} AS {})", self.rng.pick(&["INTEGER", "REAL", "TEXT", "NUMERIC"])),
            9 => format!("coalesce({c}, {})", self.literal(None)),
            10 => format!("abs({c})"),
            _ => c,
        }
    }

    /// One column of `ncols`, and with `percent`% chance a second, different one (the SET
    /// targets of an UPDATE or a DO UPDATE).
    pub(super) fn one_or_two_columns(&mut self, ncols: usize, percent: usize) -> Vec<usize> {
        let first = self.rng.below(ncols);
        let mut cols = vec![first];
        if self.rng.chance(percent) {
            let second = self.rng.below(ncols);
            if second != first {
                cols.push(second);
            }
        }
        cols
    }

    pub(super) fn update(&mut self, t: usize) -> String {
        let name = self.tables[t].name.clone();
        let ctx = vec![Src { alias: name.clone(), table: t }];
        let ncols = self.tables[t].cols.len();
        let cols = self.one_or_two_columns(ncols, 30);
        let sets: Vec<String> = cols
            .iter()
            .map(|&c| {
                let name = self.tables[t].cols[c].name;
                format!("{name} = {}", self.set_value(t, c, &ctx))
            })
            .collect();
        let mut sql = format!("UPDATE {name} SET {}", sets.join(", "));
        if self.rng.chance(90) {
            let _ = write!(sql, " WHERE {}", self.pred(&ctx, 3));
        }
        sql
    }

    pub(super) fn delete(&mut self, t: usize) -> String {
        let name = self.tables[t].name.clone();
        let ctx = vec![Src { alias: name.clone(), table: t }];
        if self.rng.chance(4) {
            format!("DELETE FROM {name}")
        } else {
            format!("DELETE FROM {name} WHERE {}", self.pred(&ctx, 3))
        }
    }
}
