//! Splitting SQL input into statements as it arrives, line by line.
//!
//! A `;` ends a statement only outside string literals (`'..'`), quoted identifiers (`".."`,
//! `` `..` ``, `[..]`) and comments (`-- ..` to the end of the line, `/* .. */`), following
//! SQLite's lexical rules. The splitter also knows whether a statement is pending, which decides
//! whether a line starting with `.` is a dot-command and which prompt the shell shows, and the
//! line and column where each statement's text starts, so errors can point into the input.

/// One statement's text (without its `;`) and where it starts in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The text from just after the previous statement (leading blanks and comments included).
    pub sql: String,
    /// 1-based line where `sql` starts.
    pub line: u32,
    /// 1-based column (in characters) where `sql` starts.
    pub col: u32,
    /// 1-based line of the statement's first token.
    pub first_line: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    /// Inside a quoted string or identifier, ended by this character.
    Quoted(char),
    LineComment,
    BlockComment,
}

/// Collects input and hands out complete statements.
#[derive(Debug)]
pub struct Splitter {
    buf: String,
    state: State,
    /// Position of the next character to arrive.
    line: u32,
    col: u32,
    /// Where `buf` starts.
    start: (u32, u32),
    /// Line of the pending statement's first token, once it has one.
    first_line: Option<u32>,
}

impl Splitter {
    /// A splitter whose input starts at line 1.
    pub fn new() -> Splitter {
        Splitter { buf: String::new(), state: State::Normal, line: 1, col: 1, start: (1, 1), first_line: None }
    }

    /// Whether no statement is pending: nothing but blanks and finished comments since the
    /// last `;`.
    pub fn is_idle(&self) -> bool {
        self.first_line.is_none() && matches!(self.state, State::Normal | State::LineComment)
    }

    /// The line the next input starts on.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// Add `text` (usually one line, with its newline); complete statements go to `out`.
    pub fn push(&mut self, text: &str, out: &mut Vec<Piece>) {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            self.buf.push(c);
            self.advance(c);
            match self.state {
                State::Normal => match c {
                    '-' if chars.peek() == Some(&'-') => self.state = State::LineComment,
                    '/' if chars.peek() == Some(&'*') => {
                        if let Some(star) = chars.next() {
                            self.buf.push(star);
                            self.advance(star);
                        }
                        self.state = State::BlockComment;
                    }
                    ';' => self.finish_statement(out),
                    c if c.is_whitespace() => {}
                    c => {
                        if self.first_line.is_none() {
                            self.first_line = Some(self.line);
                        }
                        if let Some(close) = closing_quote(c) {
                            self.state = State::Quoted(close);
                        }
                    }
                },
                State::Quoted(close) if c == close => self.state = State::Normal,
                State::LineComment if c == '\n' => self.state = State::Normal,
                State::BlockComment if c == '*' && chars.peek() == Some(&'/') => {
                    if let Some(slash) = chars.next() {
                        self.buf.push(slash);
                        self.advance(slash);
                    }
                    self.state = State::Normal;
                }
                _ => {}
            }
        }
    }

    /// Skip `text` (a dot-command line): it belongs to no statement. Only meaningful when idle;
    /// pending blanks and comments are dropped.
    pub fn skip(&mut self, text: &str) {
        for c in text.chars() {
            self.advance(c);
        }
        self.reset();
    }

    /// The pending statement at the end of the input (a last statement may lack its `;`).
    pub fn take_rest(&mut self) -> Option<Piece> {
        let sql = std::mem::take(&mut self.buf);
        let piece = self.first_line.map(|first_line| self.piece(sql, first_line));
        self.reset();
        piece
    }

    /// Forget the pending statement (Ctrl-C, or an error in an interactive session).
    pub fn clear(&mut self) {
        self.reset();
    }

    fn advance(&mut self, c: char) {
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
    }

    fn finish_statement(&mut self, out: &mut Vec<Piece>) {
        let mut sql = std::mem::take(&mut self.buf);
        sql.pop(); // the ';'
        if let Some(first_line) = self.first_line {
            out.push(self.piece(sql, first_line));
        }
        self.reset();
    }

    fn piece(&self, sql: String, first_line: u32) -> Piece {
        Piece { sql, line: self.start.0, col: self.start.1, first_line }
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.state = State::Normal;
        self.start = (self.line, self.col);
        self.first_line = None;
    }
}

fn closing_quote(c: char) -> Option<char> {
    match c {
        '\'' | '"' | '`' => Some(c),
        '[' => Some(']'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> (Vec<Piece>, Option<String>) {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        for line in text.split_inclusive('\n') {
            s.push(line, &mut out);
        }
        (out, s.take_rest().map(|p| p.sql))
    }

    #[test]
    fn semicolons_inside_quotes_and_comments_do_not_split() {
        let (pieces, rest) =
            split("SELECT 'a;b', \"c;d\", `e;f`, [g;h]; -- x;y\nSELECT /* ; */ 2;\n\nSELECT 'it''s;'\n;");
        let sql: Vec<&str> = pieces.iter().map(|p| p.sql.as_str()).collect();
        assert_eq!(sql, ["SELECT 'a;b', \"c;d\", `e;f`, [g;h]", " -- x;y\nSELECT /* ; */ 2", "\n\nSELECT 'it''s;'\n"]);
        assert_eq!(rest, None);
        // Where each starts, and the line of its first token.
        assert_eq!((pieces[1].line, pieces[1].col, pieces[1].first_line), (1, 35, 2));
        assert_eq!((pieces[2].line, pieces[2].col, pieces[2].first_line), (2, 18, 4));
    }

    #[test]
    fn pending_statements_and_idleness() {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        s.push("-- only a comment\n", &mut out);
        assert!(s.is_idle());
        s.push("/* open\n", &mut out);
        assert!(!s.is_idle(), "inside a block comment");
        s.push("*/ SELECT 'x\n", &mut out);
        assert!(!s.is_idle());
        s.push(";'", &mut out);
        assert!(out.is_empty() && !s.is_idle(), "the ; was inside the string");
        s.push(";\n", &mut out);
        assert_eq!(out.len(), 1);
        assert!(s.is_idle());
        s.push(";;  ;\n", &mut out);
        assert_eq!(out.len(), 1, "empty statements are dropped");
        s.push("SELECT 1", &mut out);
        assert_eq!(s.take_rest().map(|p| p.sql), Some("\nSELECT 1".to_string()));
        assert!(s.is_idle());
    }

    #[test]
    fn a_slash_star_slash_does_not_close_the_comment() {
        let (pieces, rest) = split("/*/ ; */ SELECT 1;");
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].sql, "/*/ ; */ SELECT 1");
        assert_eq!(rest, None);
    }
}
