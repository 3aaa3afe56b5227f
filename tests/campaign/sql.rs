//! The SQL file under test and its reference: the same statements run in SQLite, whose answers
//! to a fixed query set (after every commit) are what Tessera must answer.

use super::judge::{classify, is_clean_error, Base, Medium, Placed, Verdict};
use super::layout::FileMap;
use crate::common::{from_sqlite, value};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tessera::sql::{Connection, Value};
use tessera::{MemoryDevice, Options};

pub struct Sql {
    pub base: Base,
    pub queries: Vec<String>,
    /// Every committed state, oldest first: its transaction id and the digest of SQLite's
    /// answer to each query. The last is the model.
    pub states: Vec<(u64, Vec<u64>)>,
    /// SQLite's answers for the model (for messages).
    pub answers: Vec<Vec<Vec<Value>>>,
}

enum Step {
    /// Run on Tessera and on SQLite.
    Both(String),
    /// Tessera only (pragmas).
    Tessera(&'static str),
    Checkpoint,
    /// Close and reopen Tessera with a larger log limit.
    Reopen,
    Snap(String),
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn blob(seed: u64, len: usize) -> String {
    format!("X'{}'", hex(&value(seed, len)))
}

fn text(seed: u64, len: usize) -> String {
    value(seed, len).iter().map(|b| (b'a' + b % 26) as char).collect()
}

fn user(id: u64) -> String {
    let email = if id.is_multiple_of(97) { "NULL".to_string() } else { format!("'u{id}@example.com'") };
    format!(
        "({id}, 'name-{:03}', {email}, {}, {}, '{}')",
        (id * 7) % 400,
        id % 10,
        (id * 7919) % 1000,
        text(id, ((id * 13) % 300) as usize)
    )
}

const KINDS: [&str; 5] = ["click", "view", "buy", "scroll", "error"];

fn steps() -> Vec<Step> {
    use Step::*;
    let mut s = Vec::new();
    for ddl in [
        "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, grp INTEGER, score INTEGER, bio TEXT)",
        "CREATE INDEX users_name ON users(name)",
        "CREATE INDEX users_grp_score ON users(grp, score)",
        "CREATE TABLE events(kind TEXT, at INTEGER, payload BLOB)",
        "CREATE INDEX events_kind_at ON events(kind, at DESC)",
        "CREATE TABLE kv(k TEXT, part INTEGER, v BLOB, PRIMARY KEY(k, part)) WITHOUT ROWID",
        "CREATE TABLE docs(id INTEGER PRIMARY KEY, title TEXT, body BLOB)",
        "CREATE UNIQUE INDEX docs_title ON docs(title)",
        "CREATE TABLE tags(name TEXT PRIMARY KEY, n INTEGER)",
        "CREATE VIEW high_scores AS SELECT id, name, score FROM users WHERE score >= 900",
    ] {
        s.push(Both(ddl.into()));
    }
    s.push(Both("BEGIN".into()));
    for chunk in 0..40u64 {
        let rows: Vec<String> = (1..=50).map(|i| user(chunk * 50 + i)).collect();
        s.push(Both(format!("INSERT INTO users VALUES {}", rows.join(", "))));
    }
    s.push(Both("COMMIT".into()));
    s.push(Both("BEGIN".into()));
    for chunk in 0..30u64 {
        let rows: Vec<String> = (0..50)
            .map(|j| {
                let i = chunk * 50 + j;
                format!(
                    "('{}', {}, {})",
                    KINDS[(i % 5) as usize],
                    (i * 104_729) % 100_000,
                    blob(i, ((i * 31) % 400) as usize)
                )
            })
            .collect();
        s.push(Both(format!("INSERT INTO events VALUES {}", rows.join(", "))));
    }
    s.push(Both("COMMIT".into()));
    s.push(Both("BEGIN".into()));
    for k in 0..150u64 {
        let rows: Vec<String> = (0..4u64)
            .map(|part| {
                let len = if part == 3 { 1200 + (k * 37) % 1800 } else { 10 + (k * 7 + part * 13) % 90 };
                format!("('key-{k:03}', {part}, {})", blob(1000 + k * 4 + part, len as usize))
            })
            .collect();
        s.push(Both(format!("INSERT INTO kv VALUES {}", rows.join(", "))));
    }
    s.push(Both("COMMIT".into()));
    s.push(Both("BEGIN".into()));
    for id in 1..=40u64 {
        s.push(Both(format!(
            "INSERT INTO docs VALUES ({id}, 'doc-{id}', {})",
            blob(5000 + id, (2000 + (id * 4999) % 18_000) as usize)
        )));
    }
    let tags: Vec<String> = (0..200).map(|i| format!("('tag-{i:03}', {})", (i * 17) % 50)).collect();
    s.push(Both(format!("INSERT INTO tags VALUES {}", tags.join(", "))));
    s.push(Both("COMMIT".into()));
    s.push(Snap("after the bulk load".into()));
    s.push(Checkpoint);
    s.push(Snap("after checkpoint 1".into()));
    // Deletions after a checkpoint: a free list (with the overflow runs of deleted documents).
    s.push(Both("BEGIN".into()));
    s.push(Both("DELETE FROM users WHERE id % 7 = 0".into()));
    s.push(Both("DELETE FROM docs WHERE id % 3 = 0".into()));
    s.push(Both("UPDATE events SET payload = X'' WHERE rowid % 5 = 0".into()));
    s.push(Both("DELETE FROM kv WHERE part = 2 AND k < 'key-050'".into()));
    s.push(Both("COMMIT".into()));
    s.push(Checkpoint);
    s.push(Snap("after checkpoint 2 (free list)".into()));
    // Autocommits left in the log, which continues past its 16 KiB region.
    s.push(Reopen);
    for r in 0..30u64 {
        match r {
            5 | 26 => s.push(Tessera("PRAGMA synchronous = NORMAL")),
            9 => s.push(Tessera("PRAGMA synchronous = FULL")),
            _ => {}
        }
        s.push(Both(match r % 6 {
            0 => format!(
                "INSERT INTO users VALUES ({}, 'name-late', 'late{r}@example.com', {}, {}, '{}')",
                3000 + r,
                r % 10,
                (r * 37) % 1000,
                text(9000 + r, 40)
            ),
            1 => format!(
                "INSERT INTO docs VALUES ({}, 'doc-late-{r}', {})",
                100 + r,
                blob(7000 + r, (1500 + (r * 2749) % 14_000) as usize)
            ),
            2 => format!("UPDATE users SET score = (score + 13) % 1000 WHERE grp = {} AND id < 400", r % 10),
            3 => format!("DELETE FROM events WHERE rowid BETWEEN {} AND {}", r * 40, r * 40 + 9),
            4 => format!(
                "INSERT INTO kv VALUES ('late-{r:02}', 0, {}), ('late-{r:02}', 1, {})",
                blob(8000 + r, 50),
                blob(8100 + r, 1500)
            ),
            _ => format!(
                "UPDATE kv SET v = {} WHERE k = 'key-{:03}' AND part = 3",
                blob(8200 + r, (2000 + r * 50) as usize),
                (r * 7) % 150
            ),
        }));
        match r {
            10 => s.push(Both("CREATE INDEX events_at ON events(at)".into())),
            14 => {
                s.push(Both("CREATE TABLE scratch(a INTEGER PRIMARY KEY, b TEXT)".into()));
                s.push(Both("INSERT INTO scratch VALUES (1, 'x'), (2, 'y')".into()));
            }
            18 => {
                s.push(Both("INSERT INTO tags VALUES ('tag-late', 5)".into()));
                s.push(Both("UPDATE tags SET n = n + 1 WHERE name < 'tag-050'".into()));
            }
            22 => s.push(Both("DROP TABLE scratch".into())),
            _ => {}
        }
        if r % 6 == 5 {
            s.push(Snap(format!("log commit {r}")));
        }
    }
    s
}

/// The fixed query set: full scans ordered by key, index-driven lookups and ranges, counts,
/// aggregates, a view.
fn queries() -> Vec<String> {
    [
        "SELECT id, name, email, grp, score, bio FROM users ORDER BY id",
        "SELECT id, name FROM users ORDER BY id DESC LIMIT 40",
        "SELECT rowid, kind, at, payload FROM events ORDER BY rowid",
        "SELECT k, part, v FROM kv ORDER BY k, part",
        "SELECT id, title, length(body), body FROM docs ORDER BY id",
        "SELECT name, n FROM tags ORDER BY name",
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM events), (SELECT count(*) FROM kv), \
         (SELECT count(*) FROM docs), (SELECT count(*) FROM tags)",
        "SELECT id, score FROM users WHERE grp = 3 ORDER BY score, id",
        "SELECT id FROM users WHERE grp = 5 AND score BETWEEN 200 AND 600 ORDER BY id",
        "SELECT count(*), sum(score) FROM users WHERE grp = 7 AND score > 500",
        "SELECT id, grp FROM users WHERE email IN ('u17@example.com', 'u1234@example.com', 'u1999@example.com', \
         'late6@example.com') ORDER BY id",
        "SELECT id FROM users WHERE name = 'name-017' ORDER BY id",
        "SELECT name, id FROM users WHERE name >= 'name-350' AND name < 'name-360' ORDER BY name, id",
        "SELECT rowid, at FROM events WHERE kind = 'click' AND at > 50000 ORDER BY at DESC, rowid",
        "SELECT count(*), max(at), min(at) FROM events WHERE kind = 'buy'",
        "SELECT rowid, at FROM events WHERE at BETWEEN 1000 AND 3000 ORDER BY at, rowid",
        "SELECT k, part, length(v) FROM kv WHERE k = 'key-042' ORDER BY part",
        "SELECT k, part FROM kv WHERE k >= 'key-100' AND k < 'key-110' ORDER BY k, part",
        "SELECT id, length(body) FROM docs WHERE title = 'doc-7'",
        "SELECT n FROM tags WHERE name = 'tag-123'",
        "SELECT grp, count(*), sum(score), min(score), max(score), sum(length(bio)) FROM users GROUP BY grp ORDER BY grp",
        "SELECT kind, count(*), sum(length(payload)), max(at) FROM events GROUP BY kind ORDER BY kind",
        "SELECT id, name, score FROM high_scores ORDER BY id",
        "SELECT sum(length(body)), count(*), max(id) FROM docs",
        "SELECT min(id), max(id), count(email) FROM users",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

fn digest(rows: &[Vec<Value>]) -> u64 {
    let mut h = DefaultHasher::new();
    rows.len().hash(&mut h);
    for r in rows {
        r.len().hash(&mut h);
        for v in r {
            match v {
                Value::Null => 0u8.hash(&mut h),
                Value::Integer(i) => (1u8, i).hash(&mut h),
                Value::Real(f) => (2u8, f.to_bits()).hash(&mut h),
                Value::Text(s) => (3u8, s).hash(&mut h),
                Value::Blob(b) => (4u8, b).hash(&mut h),
            }
        }
    }
    h.finish()
}

/// SQLite's answer; an error (a table that does not exist yet) as `None`.
fn sqlite_answer(lite: &rusqlite::Connection, q: &str) -> Option<Vec<Vec<Value>>> {
    let mut st = lite.prepare(q).ok()?;
    let n = st.column_count();
    let rows =
        st.query_map([], |r| (0..n).map(|i| r.get_ref(i).map(from_sqlite)).collect::<Result<Vec<_>, _>>()).unwrap();
    Some(rows.collect::<Result<_, _>>().unwrap())
}

/// The digest of an answer; an error's is 0 (no answer of Tessera's matches it).
fn answer_digest(a: Option<Vec<Vec<Value>>>) -> u64 {
    a.map_or(0, |rows| digest(&rows))
}

/// Run a query on Tessera: its rows, at most `cap` of them (a scan that does not end stops
/// there, and its answer is wrong).
fn tessera_answer(conn: &mut Connection, q: &str, cap: usize) -> tessera::Result<Vec<Vec<Value>>> {
    let mut out = Vec::new();
    for row in conn.query(q, ())? {
        out.push(row?.into_values());
        if out.len() > cap {
            break;
        }
    }
    Ok(out)
}

pub fn build() -> Sql {
    let dev = Arc::new(MemoryDevice::new());
    let small = Options { max_log_size: 16 << 10, ..Options::default() };
    let big = Options { max_log_size: 1 << 20, ..Options::default() };
    let lite = rusqlite::Connection::open_in_memory().unwrap();
    let mut conn = Connection::open_device(dev.clone(), small).unwrap();
    let queries = queries();
    // The empty database (transaction 0): every query fails.
    let mut states = vec![(0, vec![0; queries.len()])];
    let mut snapshots = Vec::new();
    let txn_of = |c: &Connection| c.database().begin_read().unwrap().txn_id();
    let mut last = txn_of(&conn);
    let mut checkpoints = None;
    for step in steps() {
        match step {
            Step::Both(sql) => {
                conn.execute(&sql, ()).unwrap_or_else(|e| panic!("Tessera: {}: {e}", &sql[..sql.len().min(200)]));
                lite.execute_batch(&sql).unwrap_or_else(|e| panic!("SQLite: {}: {e}", &sql[..sql.len().min(200)]));
            }
            Step::Tessera(sql) => {
                conn.execute(sql, ()).unwrap();
            }
            Step::Checkpoint => conn.database().checkpoint().unwrap(),
            Step::Reopen => {
                drop(conn);
                conn = Connection::open_device(dev.clone(), big.clone()).unwrap();
                checkpoints = Some(conn.database().stats().checkpoints);
            }
            Step::Snap(label) => snapshots.push((label, dev.to_bytes())),
        }
        if !conn.in_transaction() {
            let txn = txn_of(&conn);
            if txn != last {
                let digests = queries.iter().map(|q| answer_digest(sqlite_answer(&lite, q))).collect();
                states.push((txn, digests));
                last = txn;
            }
        }
    }
    assert_eq!(Some(conn.database().stats().checkpoints), checkpoints, "the autocommits must stay in the log");
    drop(conn);
    let answers: Vec<Vec<Vec<Value>>> = queries.iter().map(|q| sqlite_answer(&lite, q).expect(q)).collect();
    let image = dev.to_bytes();
    let map = FileMap::parse(&image);
    assert!(map.chain.len() >= 2, "the log must continue into another region: {:?}", map.chain);
    assert!(!map.freelist_pages.is_empty(), "the file must have a free list");
    assert!(map.runs.len() >= 20, "the file must have overflow runs");
    assert_eq!(map.last_txn(), states.last().unwrap().0, "the log must end with the last commit");
    assert!(map.frames.len() >= 25, "the autocommits must be in the log");
    // The clean file answers exactly as SQLite does.
    let mut conn = Connection::open_device(MemoryDevice::from_bytes(image.clone()), Options::default()).unwrap();
    for (q, want) in queries.iter().zip(&answers) {
        let got = tessera_answer(&mut conn, q, usize::MAX).unwrap();
        assert!(got == *want, "the clean file answers `{q}` differently from SQLite");
    }
    drop(conn);
    Sql { base: Base { name: "sql", image, map, snapshots }, queries, states, answers }
}

impl Sql {
    pub fn judge(&self, image: Vec<u8>, medium: Medium, opts: Options) -> Verdict {
        let mut placed = Placed::new(image, medium);
        let opened = match (placed.image.take(), &placed.path) {
            (Some(image), _) => Connection::open_device(MemoryDevice::from_bytes(image), opts),
            (None, Some(path)) => Connection::open_with(path, opts),
            (None, None) => unreachable!(),
        };
        let mut conn = match opened {
            Ok(c) => c,
            Err(e) => return Verdict::open_failed(e),
        };
        let cap = 2 * self.answers.iter().map(|a| a.len()).max().unwrap_or(0) + 100;
        let results: Vec<tessera::Result<Vec<Vec<Value>>>> =
            self.queries.iter().map(|q| tessera_answer(&mut conn, q, cap)).collect();
        let check = match conn.database().check() {
            Ok(r) => r.errors,
            Err(e) => vec![format!("check() failed: {e}")],
        };
        let report = conn.database().recovery_report();
        drop(conn);
        let mut errors = Vec::new();
        let mut other = Vec::new();
        let mut got = Vec::new();
        for (i, r) in results.iter().enumerate() {
            match r {
                Ok(rows) => got.push((i, digest(rows))),
                Err(e) if is_clean_error(e) => errors.push(format!("query {i}: {e}")),
                Err(e) => other.push(format!("query {i}: {e:?}")),
            }
        }
        let txns: Vec<u64> = self.states.iter().map(|s| s.0).collect();
        let last = txns.len() - 1;
        let consistent = |s: usize| -> Result<(), String> {
            for &(i, d) in &got {
                if d != self.states[s].1[i] {
                    let rows = results[i].as_ref().unwrap();
                    return Err(if s == last {
                        explain(&self.queries[i], rows, &self.answers[i])
                    } else {
                        String::new()
                    });
                }
            }
            Ok(())
        };
        let mut v = classify(&txns, errors, other, check, consistent);
        if let Some(s) = report.salvaged {
            v.detail.push_str(&format!(" [salvaged: {s}]"));
        }
        v
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::Blob(b) => format!("blob({} bytes)", b.len()),
        Value::Text(t) if t.len() > 24 => {
            format!("{:?}...", tessera::sql::Text::from_bytes(t.as_bytes()[..24].to_vec()))
        }
        other => format!("{other:?}"),
    }
}

fn show_row(r: &[Value]) -> String {
    format!("({})", r.iter().map(short).collect::<Vec<_>>().join(", "))
}

/// How a wrong answer differs from SQLite's.
fn explain(q: &str, got: &[Vec<Value>], want: &[Vec<Value>]) -> String {
    let q = if q.len() > 70 { format!("{}...", &q[..70]) } else { q.to_string() };
    let at = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
    let g = got.get(at).map(|r| show_row(r)).unwrap_or("(none)".into());
    let w = want.get(at).map(|r| show_row(r)).unwrap_or("(none)".into());
    format!("`{q}`: {} rows, SQLite {}; row {at}: {g}, SQLite {w}", got.len(), want.len())
}
