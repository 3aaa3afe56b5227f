//! Expressions: a Pratt parser over SQLite's operator precedence (`expr_bp`), with the
//! special infix forms (IN, BETWEEN, LIKE / GLOB, IS, COLLATE) and the primaries (literals,
//! names, parameters, CASE, CAST, EXISTS, subqueries, function calls).

use crate::error::Result;
use crate::sql::parser::ast::*;
use crate::sql::parser::lexer::Tok;
use crate::sql::parser::statement::{is_reserved, Parser, MAX_PARAM};
use crate::sql::types::value::Value;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::mem;

impl Parser<'_> {
    // ---- expressions ----
    //
    // The functions on the recursion path (expr_bp, unary, primary, word_expr, paren) keep few
    // temporaries so that nesting up to MAX_DEPTH fits comfortably in a small stack even in
    // unoptimised builds; the rarer forms live in their own functions.

    pub(super) fn expr(&mut self) -> Result<Expr> {
        self.expr_bp(1)
    }

    /// The infix operator at the current token: its binding power (0: none) and, for plain
    /// binary operators, the operator. Levels: 1 OR, 2 AND, (3 prefix NOT), 4 equality / IS /
    /// IN / LIKE / GLOB / BETWEEN / null tests, 5 comparison, 6 bitwise, 7 additive,
    /// 8 multiplicative, 9 concatenation.
    fn infix_op(&self) -> (u8, Option<BinaryOp>) {
        use BinaryOp::*;
        let t = self.tok();
        match t.kind {
            Tok::Op(op) => match op {
                "=" => (4, Some(Eq)),
                "!=" => (4, Some(NotEq)),
                "<" => (5, Some(Lt)),
                "<=" => (5, Some(LtEq)),
                ">" => (5, Some(Gt)),
                ">=" => (5, Some(GtEq)),
                "&" => (6, Some(BitAnd)),
                "|" => (6, Some(BitOr)),
                "<<" => (6, Some(ShiftLeft)),
                ">>" => (6, Some(ShiftRight)),
                "+" => (7, Some(Add)),
                "-" => (7, Some(Sub)),
                "*" => (8, Some(Mul)),
                "/" => (8, Some(Div)),
                "%" => (8, Some(Mod)),
                "||" => (9, Some(Concat)),
                _ => (0, None),
            },
            Tok::Word => {
                let w = self.text(t);
                let is = |k: &str| w.eq_ignore_ascii_case(k);
                if is("OR") {
                    (1, Some(Or))
                } else if is("AND") {
                    (2, Some(And))
                } else if ["IS", "IN", "LIKE", "GLOB", "BETWEEN", "ISNULL", "NOTNULL"].iter().any(|k| is(k))
                    || (is("NOT") && ["IN", "LIKE", "GLOB", "BETWEEN", "NULL"].iter().any(|k| self.is_kw_at(1, k)))
                {
                    (4, None)
                } else {
                    (0, None)
                }
            }
            _ => (0, None),
        }
    }

    /// An expression whose infix operators bind at least as tightly as `min`.
    fn expr_bp(&mut self, min: u8) -> Result<Expr> {
        let mut lhs = if min <= 3 && self.kw("NOT") {
            self.i += 1;
            self.enter()?;
            let e = negate(self.expr_bp(3)?);
            self.leave();
            e
        } else {
            self.unary()?
        };
        let chain = self.chain;
        loop {
            let (power, op) = self.infix_op();
            if power == 0 || power < min {
                self.chain = chain;
                return Ok(lhs);
            }
            self.grow()?;
            self.enter()?;
            lhs = match op {
                Some(op) => {
                    self.i += 1;
                    Expr::Binary { op, left: Box::new(lhs), right: Box::new(self.expr_bp(power + 1)?) }
                }
                None => {
                    self.enter()?;
                    let e = self.special_infix(Box::new(lhs))?;
                    self.leave();
                    e
                }
            };
            self.leave();
        }
    }

    /// `IS`, `ISNULL`, `NOTNULL`, `[NOT] NULL | IN | LIKE | GLOB | BETWEEN` after `lhs`.
    fn special_infix(&mut self, lhs: Box<Expr>) -> Result<Expr> {
        if self.eat_kw("ISNULL") {
            return Ok(Expr::IsNull { expr: lhs, negated: false });
        }
        if self.eat_kw("NOTNULL") {
            return Ok(Expr::IsNull { expr: lhs, negated: true });
        }
        if self.eat_kw("IS") {
            let negated = self.eat_kw("NOT");
            // `IS [NOT] NULL` is not a postfix operator in SQLite: NULL is the right operand,
            // so `2 IS NULL + 1` is `2 IS (NULL + 1)`.
            let right = self.expr_bp(5)?;
            if matches!(right, Expr::Literal(Value::Null)) {
                return Ok(Expr::IsNull { expr: lhs, negated });
            }
            let op = if negated { BinaryOp::IsNot } else { BinaryOp::Is };
            return Ok(Expr::Binary { op, left: lhs, right: Box::new(right) });
        }
        let negated = self.eat_kw("NOT");
        if self.eat_kw("NULL") {
            return Ok(Expr::IsNull { expr: lhs, negated: true });
        }
        if self.eat_kw("IN") {
            return self.in_rhs(lhs, negated);
        }
        if self.eat_kw("BETWEEN") {
            let low = Box::new(self.expr_bp(5)?);
            self.expect_kw("AND")?;
            let high = Box::new(self.expr_bp(5)?);
            return Ok(Expr::Between { expr: lhs, low, high, negated });
        }
        let glob = self.kw("GLOB");
        self.i += 1; // LIKE or GLOB
        let pattern = Box::new(self.expr_bp(5)?);
        let escape = if self.eat_kw("ESCAPE") { Some(Box::new(self.expr_bp(5)?)) } else { None };
        Ok(Expr::Like { expr: lhs, pattern, escape, negated, glob })
    }

    /// The right side of `[NOT] IN`: `(list)`, `(query)` or a table name.
    fn in_rhs(&mut self, expr: Box<Expr>, negated: bool) -> Result<Expr> {
        if !self.eat_op("(") {
            let name = self.qualified_name("'(' or a table name")?;
            let from = Some(FromItem::Table { name, alias: None });
            let columns = alloc::vec![ResultColumn::Star];
            let select = Select { distinct: false, columns, from, where_: None, group_by: Vec::new(), having: None };
            let body = SetExpr::Select(Box::new(select));
            let query = Box::new(Query { with: Vec::new(), body, order_by: Vec::new(), limit: None, offset: None });
            return Ok(Expr::InSubquery { expr, query, negated });
        }
        let e = if self.at_query() {
            Expr::InSubquery { expr, query: Box::new(self.query()?), negated }
        } else if self.op(")") {
            Expr::InList { expr, list: Vec::new(), negated }
        } else {
            Expr::InList { expr, list: self.expr_list()?, negated }
        };
        self.expect_op(")")?;
        Ok(e)
    }

    /// Prefix `- + ~`, then a primary with postfix `COLLATE`s.
    pub(super) fn unary(&mut self) -> Result<Expr> {
        self.enter()?;
        let op = match self.tok().kind {
            Tok::Op("-") => UnaryOp::Neg,
            Tok::Op("+") => UnaryOp::Plus,
            Tok::Op("~") => UnaryOp::BitNot,
            _ => {
                let e = self.primary()?;
                self.leave();
                return self.collate(e);
            }
        };
        self.i += 1;
        let e = match (op, &self.tok().kind) {
            (UnaryOp::Neg, Tok::Num(_)) => self.negative_number()?,
            _ => Expr::Unary { op, expr: Box::new(self.unary()?) },
        };
        self.leave();
        Ok(e)
    }

    /// `-` directly before a number: a negative literal (`-9223372036854775808` is i64::MIN),
    /// with any COLLATE after it.
    fn negative_number(&mut self) -> Result<Expr> {
        let e = self.negative_literal();
        self.collate(e)
    }

    /// The number at the current token, negated (the `-` already taken), without COLLATE.
    pub(super) fn negative_literal(&mut self) -> Expr {
        let min = self.text(self.tok()) == "9223372036854775808";
        Expr::Literal(match self.bump() {
            Tok::Num(Value::Integer(i)) => Value::Integer(i.wrapping_neg()),
            _ if min => Value::Integer(i64::MIN),
            Tok::Num(Value::Real(r)) => Value::Real(-r),
            _ => Value::Null,
        })
    }

    /// Postfix `COLLATE name`s after `e`.
    fn collate(&mut self, mut e: Expr) -> Result<Expr> {
        while self.eat_kw("COLLATE") {
            e = Expr::Collate { expr: Box::new(e), collation: self.name("a collation name")? };
        }
        Ok(e)
    }

    pub(super) fn primary(&mut self) -> Result<Expr> {
        let t = self.tok();
        match &t.kind {
            Tok::Num(_) | Tok::Str(_) | Tok::Blob(_) => Ok(Expr::Literal(match self.bump() {
                Tok::Num(v) => v,
                Tok::Str(s) => Value::Text(s.into()),
                Tok::Blob(b) => Value::Blob(b),
                _ => Value::Null,
            })),
            Tok::Var => self.param(),
            Tok::Op("(") => self.paren(),
            Tok::Word | Tok::Quoted(_) => self.word_expr(),
            _ => Err(self.unexpected("an expression")),
        }
    }

    /// `(expr)` or `(query)`.
    fn paren(&mut self) -> Result<Expr> {
        self.i += 1;
        let e = if self.at_query() { Expr::Subquery(Box::new(self.query()?)) } else { self.expr()? };
        self.expect_op(")")?;
        Ok(e)
    }

    /// An expression starting with a word: keyword forms, function calls, columns.
    fn word_expr(&mut self) -> Result<Expr> {
        let t = self.tok();
        let word = if t.kind == Tok::Word { self.text(t) } else { "" };
        let is = |k: &str| word.eq_ignore_ascii_case(k);
        let call = self.is_op_at(1, "(");
        if is("NULL") || ((is("TRUE") || is("FALSE")) && !call) {
            self.i += 1;
            return Ok(Expr::Literal(if is("NULL") { Value::Null } else { Value::Integer(is("TRUE") as i64) }));
        }
        if is("NOT") {
            self.i += 1;
            return Ok(negate(self.expr_bp(3)?));
        }
        if !call && (is("CURRENT_TIMESTAMP") || is("CURRENT_DATE") || is("CURRENT_TIME")) {
            self.i += 1;
            return Ok(current_time_expr(word));
        }
        let keyword = is("CASE") || (call && (is("CAST") || is("EXISTS")));
        if keyword || (call && (!is_reserved(word) || is("LEFT") || is("RIGHT"))) {
            self.enter()?;
            let e = if is("CASE") {
                self.case_expr()
            } else if is("CAST") || is("EXISTS") {
                self.cast_or_exists(is("CAST"))
            } else {
                self.call()
            }?;
            self.leave();
            return Ok(e);
        }
        if is_reserved(word) {
            return Err(self.unexpected("an expression"));
        }
        let name = self.take_text();
        if !self.eat_op(".") {
            return Ok(Expr::Column { table: None, name });
        }
        let mut table = name;
        let mut name = self.name("a column name")?;
        if self.eat_op(".") {
            table = mem::replace(&mut name, self.name("a column name")?);
        }
        Ok(Expr::Column { table: Some(table), name })
    }

    fn case_expr(&mut self) -> Result<Expr> {
        self.i += 1;
        let operand = if self.kw("WHEN") { None } else { Some(Box::new(self.expr()?)) };
        let mut whens = Vec::new();
        while self.eat_kw("WHEN") {
            let cond = self.expr()?;
            self.expect_kw("THEN")?;
            whens.push((cond, self.expr()?));
        }
        if whens.is_empty() {
            return Err(self.unexpected("WHEN"));
        }
        let else_ = if self.eat_kw("ELSE") { Some(Box::new(self.expr()?)) } else { None };
        self.expect_kw("END")?;
        Ok(Expr::Case { operand, whens, else_ })
    }

    /// `CAST(expr AS type)` or `EXISTS (query)`.
    fn cast_or_exists(&mut self, cast: bool) -> Result<Expr> {
        self.i += 2;
        let e = if cast {
            let expr = Box::new(self.expr()?);
            self.expect_kw("AS")?;
            Expr::Cast { expr, type_name: self.type_name()? }
        } else {
            Expr::Exists { query: Box::new(self.query()?), negated: false }
        };
        self.expect_op(")")?;
        Ok(e)
    }

    /// `name(args)`, `name(*)`, `name(DISTINCT args)`.
    pub(super) fn call(&mut self) -> Result<Expr> {
        let name = self.take_text();
        self.expect_op("(")?;
        let star = self.eat_op("*");
        let distinct = !star && self.eat_kw("DISTINCT");
        if !star && !distinct {
            self.eat_kw("ALL");
        }
        let args = if star || (!distinct && self.op(")")) { Vec::new() } else { self.expr_list()? };
        self.expect_op(")")?;
        Ok(Expr::Function { name, args, distinct, star })
    }

    /// A parameter: `?` takes the next index, `?NNN` index NNN, a named parameter the index of
    /// its first appearance.
    pub(super) fn param(&mut self) -> Result<Expr> {
        let (text, start) = (self.text(self.tok()), self.tok().start);
        self.i += 1;
        let idx = match text.strip_prefix('?') {
            Some("") => self.params.len() + 1,
            Some(digits) => digits.parse::<usize>().unwrap_or(0),
            None => match self.params.iter().position(|p| p.as_deref() == Some(text)) {
                Some(i) => return Ok(Expr::Param(i as u32 + 1)),
                None => self.params.len() + 1,
            },
        };
        if !(1..=MAX_PARAM).contains(&idx) {
            return Err(self.error_at(start, format!("parameter index must be between 1 and {MAX_PARAM}")));
        }
        if idx > self.params.len() {
            self.params.resize(idx, None);
        }
        if !text.starts_with('?') {
            self.params[idx - 1] = Some(text.to_string());
        }
        Ok(Expr::Param(idx as u32))
    }
}

/// `NOT e`; `NOT EXISTS (q)` becomes a negated [`Expr::Exists`].
fn negate(e: Expr) -> Expr {
    match e {
        Expr::Exists { query, negated: false } => Expr::Exists { query, negated: true },
        e => Expr::Unary { op: UnaryOp::Not, expr: Box::new(e) },
    }
}

/// `CURRENT_TIMESTAMP`, `CURRENT_DATE` or `CURRENT_TIME` (keywords, not names): a call of the
/// built-in function of that name, which reads the host's clock.
pub(super) fn current_time_expr(word: &str) -> Expr {
    Expr::Function { name: word.to_ascii_uppercase(), args: Vec::new(), distinct: false, star: false }
}
