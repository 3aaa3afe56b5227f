//! The SQL shell (`tessera [FILE]`), driven through stdin scripts and `-c`.

mod common;

use common::{Env, Run};

const FIXTURE: &str = "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB);
INSERT INTO t VALUES (1, 'Zoë', 1.0, x'00ff'), (2, NULL, 0.1, NULL), (3, '日本', -2.5e-7, x'');
";

impl Env {
    /// Run a script on stdin.
    fn script(&self, args: &[&str], script: &str) -> Run {
        self.run_with_stdin(args, Some(script.as_bytes()))
    }

    /// The rows of a query in list mode without headers.
    fn rows(&self, db: &str, sql: &str) -> String {
        self.run(&[db, "--mode", "list", "-c", ".headers off", "-c", sql]).ok().stdout
    }
}

#[test]
fn every_mode_shows_values_exactly() {
    let env = Env::new();
    env.script(&[], FIXTURE).ok();
    assert!(env.path("tessera.db").exists(), "the default database is ./tessera.db");
    let show = |mode: &str| env.run(&["--mode", mode, "-c", "SELECT * FROM t"]).ok().stdout;
    assert_eq!(
        show("table"),
        "+----+------+----------+---------+\n\
         | id | name |  score   |  data   |\n\
         +----+------+----------+---------+\n\
         |  1 | Zoë  |      1.0 | X'00FF' |\n\
         |  2 |      |      0.1 |         |\n\
         |  3 | 日本 | -2.5e-07 | X''     |\n\
         +----+------+----------+---------+\n"
    );
    assert_eq!(show("csv"), "id,name,score,data\r\n1,Zoë,1.0,X'00FF'\r\n2,,0.1,\r\n3,日本,-2.5e-07,X''\r\n");
    assert_eq!(
        show("json"),
        "[{\"id\":1,\"name\":\"Zoë\",\"score\":1.0,\"data\":\"00FF\"},\n\
         {\"id\":2,\"name\":null,\"score\":0.1,\"data\":null},\n\
         {\"id\":3,\"name\":\"日本\",\"score\":-2.5e-07,\"data\":\"\"}]\n"
    );
    assert_eq!(
        show("line"),
        "   id = 1\n name = Zoë\nscore = 1.0\n data = X'00FF'\n\n\
         \x20  id = 2\n name = \nscore = 0.1\n data = \n\n\
         \x20  id = 3\n name = 日本\nscore = -2.5e-07\n data = X''\n"
    );
    assert_eq!(show("list"), "id|name|score|data\n1|Zoë|1.0|X'00FF'\n2||0.1|\n3|日本|-2.5e-07|X''\n");

    // The same through dot-commands, with .headers and .nullvalue.
    let r = env.script(&[], ".mode list\n.headers off\n.nullvalue NULL\nSELECT name, data FROM t WHERE id = 2;\n").ok();
    assert_eq!(r.stdout, "NULL|NULL\n");
    let r = env.script(&[], ".mode csv\nSELECT 'a,b' AS \"x\"\"y\", 'say \"hi\"', 'two\nlines' AS t, 7;\n").ok();
    assert_eq!(r.stdout, "\"x\"\"y\",\"'say \"\"hi\"\"'\",t,7\r\n\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",7\r\n");
    let r = env.script(&[], ".mode json\nSELECT 9223372036854775807 AS big, 'tab\there \"q\" \\' AS s;\n").ok();
    assert_eq!(r.stdout, "[{\"big\":9223372036854775807,\"s\":\"tab\\there \\\"q\\\" \\\\\"}]\n");
    // No rows: nothing, except an empty JSON array; statements without rows print nothing.
    assert_eq!(env.run(&["-c", "SELECT * FROM t WHERE id > 9"]).ok().stdout, "");
    assert_eq!(env.run(&["--mode", "json", "-c", "SELECT * FROM t WHERE id > 9"]).ok().stdout, "[]\n");
    assert_eq!(env.run(&["-c", "UPDATE t SET score = 2.0 WHERE id = 1"]).ok().stdout, "");
    // A cell with several lines takes several lines of its row.
    let r = env.run(&["-c", "SELECT 'a' || char(10) || 'bc' AS v, 1 AS n"]).ok();
    assert_eq!(r.stdout, "+----+---+\n| v  | n |\n+----+---+\n| a  | 1 |\n| bc |   |\n+----+---+\n");
    // Unknown modes are refused.
    let r = env.script(&[], ".mode fancy\n").code(1);
    assert!(r.stderr.contains("unknown mode \"fancy\""), "{}", r.stderr);
}

#[test]
fn script_errors_stop_with_status_1_and_say_where() {
    let env = Env::new();
    env.script(&[], "CREATE TABLE n(x);\n").ok();

    // A syntax error: line and column in the script, then the line with a caret; nothing after
    // it runs.
    let r = env.script(&[], "INSERT INTO n VALUES (1);\nSELECT count(*)\n  FROM n WHERE;\nINSERT INTO n VALUES (2);\n");
    let r = r.code(1);
    assert!(r.stderr.starts_with("Error: syntax error at line 3, column 15: "), "position in the script: {}", r.stderr);
    assert!(r.stderr.contains("\n    FROM n WHERE\n                ^\n"), "caret: {}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(env.rows("tessera.db", "SELECT x FROM n"), "1\n", "the script stopped at the error");

    // On the same line as an earlier statement, the column counts from the line's start.
    let r = env.script(&[], "SELECT 1; SELEC 2;\n").code(1);
    assert!(r.stderr.starts_with("Error: syntax error at line 1, column 11: "), "{}", r.stderr);
    assert!(r.stdout.contains("| 1 |"), "the first statement ran: {}", r.stdout);

    // Other errors name the statement's first line.
    let r = env.script(&[], "SELECT 1;\n\n  SELECT *\n  FROM nope;\n").code(1);
    assert_eq!(r.stderr, "Error: near line 3: no such table: nope\n");
    let r = env.run(&["-c", "INSERT INTO n VALUES (1, 2)"]).code(1);
    assert_eq!(r.stderr, "Error: near line 1: table n has 1 columns but 2 values were supplied\n");
    let r = env.script(&[], "SELECT 1;\n.frobnicate\n").code(1);
    assert!(r.stderr.starts_with("Error: near line 2: unknown dot-command"), "{}", r.stderr);
    assert_eq!(env.rows("tessera.db", "SELECT count(*) FROM n"), "1\n");

    // An unterminated string reaches the end of the input and is reported there.
    let r = env.script(&[], "SELECT 'abc;\n").code(1);
    assert!(r.stderr.contains("unterminated string literal"), "{}", r.stderr);
}

#[test]
fn multi_line_statements_and_semicolons_in_strings_and_comments() {
    let env = Env::new();
    let script = "CREATE TABLE m(
    a TEXT, -- a comment; with a semicolon
    b TEXT  /* another; one */
);
INSERT INTO m VALUES ('x;y', 'it''s; fine'), ('b' || ';c', 'd');
-- a line comment;
/* a block
   comment; */ INSERT INTO m VALUES ('multi
line;', '');
.mode list
SELECT a AS \"x;y\", b AS [p;q], a = b AS `r;s` FROM m;
";
    let r = env.script(&["-f", "m.db"], script).ok();
    assert_eq!(r.stdout, "x;y|p;q|r;s\nx;y|it's; fine|0\nb;c|d|0\nmulti\nline;||0\n");
    // -c: several statements; the last one needs no ';'. Several -c run in order.
    let r = env.run(&["m.db", "-c", ".mode list", "-c", "SELECT 1 AS one; SELECT 'a;' || 'b' AS c"]).ok();
    assert_eq!(r.stdout, "one\n1\nc\na;b\n");
    // A dot-command line inside a pending statement is SQL, not a command.
    let r = env.script(&["m.db"], ".mode list\n.headers off\nSELECT\n.5;\n").ok();
    assert_eq!(r.stdout, "0.5\n");
}

/// A database with every kind of value and object the dump must rebuild.
const DUMP_FIXTURE: &str = "
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL, d);
INSERT INTO t VALUES
  (1, 'it''s
two lines', 0.1, x'00ff'),
  (2, NULL, 1e300, -0.0),
  (3, '', -1.5e-7, 9223372036854775807),
  (4, 'semi;colon \"dq\"', 1e999, -9223372036854775808),
  (5, 'ünïcödé', 0.30000000000000004, 2.5),
  (6, CAST(x'ff41' AS TEXT), 0.5, x'c3' || 'a');
CREATE TABLE w(k TEXT PRIMARY KEY, v INT) WITHOUT ROWID;
INSERT INTO w VALUES ('b', 2), ('a', 1);
ALTER TABLE w ADD COLUMN extra TEXT DEFAULT 'dflt';
INSERT INTO w VALUES ('c', 3, NULL);
CREATE INDEX t_b ON t(b DESC);
CREATE UNIQUE INDEX w_v ON w(v);
CREATE VIEW v AS SELECT a, b FROM t WHERE a > 1;
CREATE VIEW vv AS SELECT count(*) AS n FROM v;
CREATE TABLE \"odd \"\"name\"\"\"(x UNIQUE, y DEFAULT 7);
INSERT INTO \"odd \"\"name\"\"\" VALUES (1, 2), (NULL, NULL);
CREATE TABLE r(p, q);
CREATE INDEX r_q ON r(q);
INSERT INTO r VALUES (1, 'one');
ALTER TABLE r RENAME COLUMN q TO qq;
ALTER TABLE r RENAME TO renamed;
ALTER TABLE renamed DROP COLUMN p;
ANALYZE;
";

#[test]
fn dump_reloads_to_the_same_database() {
    let env = Env::new();
    env.script(&["first.db"], DUMP_FIXTURE).ok();
    let dump = env.run(&["first.db", "-c", ".dump"]).ok().stdout;
    assert!(dump.starts_with("BEGIN TRANSACTION;\n") && dump.ends_with("COMMIT;\n"), "{dump}");
    for expected in [
        "INSERT INTO \"t\" VALUES(1,'it''s\ntwo lines',0.1,X'00FF');\n",
        "INSERT INTO \"t\" VALUES(2,NULL,1e300,-0.0);\n",
        "INSERT INTO \"t\" VALUES(4,'semi;colon \"dq\"',1e999,-9223372036854775808);\n",
        "INSERT INTO \"t\" VALUES(5,'ünïcödé',0.30000000000000004,2.5);\n",
        "INSERT INTO \"t\" VALUES(6,CAST(X'FF41' AS TEXT),0.5,CAST(X'C361' AS TEXT));\n",
        "CREATE TABLE w(k TEXT PRIMARY KEY, v INT) WITHOUT ROWID;\nALTER TABLE w ADD COLUMN extra TEXT DEFAULT 'dflt';\n",
        "INSERT INTO \"w\" VALUES('c',3,NULL);\n",
        "CREATE INDEX t_b ON t(b DESC);\n",
        "ANALYZE sqlite_schema;\nINSERT INTO \"sqlite_stat1\" VALUES(",
        "INSERT INTO \"sqlite_stat1\" VALUES('t','t_b','6 1');\n",
        "CREATE TABLE \"renamed\"(p, q);\n",
        "CREATE INDEX \"r_q\" ON \"renamed\"(\"qq\");\n",
        "CREATE VIEW v AS SELECT a, b FROM t WHERE a > 1;\nCREATE VIEW vv AS SELECT count(*) AS n FROM v;\n",
    ] {
        assert!(dump.contains(expected), "dump lacks {expected:?}:\n{dump}");
    }

    // Load it into a fresh file through stdin: same dump, same rows, same schema.
    env.script(&["second.db"], &dump).ok();
    assert_eq!(env.run(&["second.db", "-c", ".dump"]).ok().stdout, dump);
    for query in [
        "SELECT a, b, c, d, typeof(c), typeof(d), hex(d) FROM t ORDER BY a",
        "SELECT * FROM w ORDER BY k",
        "SELECT * FROM \"odd \"\"name\"\"\" ORDER BY x",
        "SELECT * FROM renamed",
        "SELECT * FROM vv",
    ] {
        let (a, b) = (env.rows("first.db", query), env.rows("second.db", query));
        assert!(!a.is_empty(), "{query}");
        assert_eq!(a, b, "{query}");
    }
    assert_eq!(env.rows("second.db", "SELECT extra FROM w ORDER BY k"), "dflt\ndflt\n\n");
    assert_eq!(env.rows("second.db", "SELECT qq FROM renamed"), "one\n");
    for db in ["first.db", "second.db"] {
        assert_eq!(env.run(&[db, "-c", ".indexes"]).ok().stdout, "r_q\nsqlite_autoindex_odd \"name\"_1\nt_b\nw_v\n");
    }
    // The index and the UNIQUE constraints work in the copy.
    assert!(env.rows("second.db", "EXPLAIN SELECT * FROM t WHERE b = 'x'").contains("USING INDEX t_b"));
    let r = env.run(&["second.db", "-c", "INSERT INTO w VALUES ('z', 1, NULL)"]).code(1);
    assert!(r.stderr.contains("UNIQUE"), "{}", r.stderr);

    // A pattern dumps only the matching tables (with their indexes).
    let part = env.run(&["first.db", "-c", ".dump w"]).ok().stdout;
    assert!(part.contains("INSERT INTO \"w\"") && part.contains("CREATE UNIQUE INDEX w_v"), "{part}");
    assert!(!part.contains("INSERT INTO \"t\"") && !part.contains("CREATE VIEW"), "{part}");
    // An empty database dumps to an empty transaction.
    assert_eq!(env.run(&["empty.db", "-c", ".dump"]).ok().stdout, "BEGIN TRANSACTION;\nCOMMIT;\n");
}

#[test]
fn tables_schema_indexes() {
    let env = Env::new();
    env.script(&[], DUMP_FIXTURE).ok();
    assert_eq!(env.run(&["-c", ".tables"]).ok().stdout, "odd \"name\"\nrenamed\nt\nv\nvv\nw\n");
    assert_eq!(env.run(&["-c", ".tables v%"]).ok().stdout, "v\nvv\n");
    assert_eq!(
        env.run(&["-c", ".schema T"]).ok().stdout,
        "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL, d);\nCREATE INDEX t_b ON t(b DESC);\n"
    );
    assert_eq!(env.run(&["-c", ".indexes w"]).ok().stdout, "w_v\n");
    assert_eq!(env.run(&["-c", ".indexes odd%"]).ok().stdout, "sqlite_autoindex_odd \"name\"_1\n");
    assert_eq!(env.run(&["-c", ".schema nothing"]).ok().stdout, "");
}

#[test]
fn import_csv_into_new_and_existing_tables() {
    let env = Env::new();
    let csv = "name,\"note, with comma\",n\r\n\"Ann \"\"A\"\"\",\"line one\r\nline two\",1\r\n\r\nBob,,2\r\n\"Zoë\",\"x\ny\",03\r\n";
    std::fs::write(env.path("people.csv"), csv).unwrap();

    // A new table: TEXT columns named by the header line.
    env.run(&["-c", ".import people.csv people"]).ok();
    assert_eq!(
        env.run(&["-c", ".schema people"]).ok().stdout,
        "CREATE TABLE \"people\"(\"name\" TEXT, \"note, with comma\" TEXT, \"n\" TEXT);\n"
    );
    let r = env.run(&["--mode", "json", "-c", "SELECT * FROM people"]).ok();
    assert_eq!(
        r.stdout,
        "[{\"name\":\"Ann \\\"A\\\"\",\"note, with comma\":\"line one\\r\\nline two\",\"n\":\"1\"},\n\
         {\"name\":\"Bob\",\"note, with comma\":\"\",\"n\":\"2\"},\n\
         {\"name\":\"Zoë\",\"note, with comma\":\"x\\ny\",\"n\":\"03\"}]\n"
    );

    // An existing table: every line is data unless skipped; the columns' affinity applies.
    env.run(&["-c", "CREATE TABLE typed(name TEXT, note TEXT, n INTEGER)"]).ok();
    env.run(&["-c", ".import people.csv typed"]).ok();
    assert_eq!(env.rows("tessera.db", "SELECT name FROM typed"), "name\nAnn \"A\"\nBob\nZoë\n");
    env.run(&["-c", "DELETE FROM typed"]).ok();
    env.run(&["-c", ".import --skip 1 people.csv typed"]).ok();
    assert_eq!(
        env.rows("tessera.db", "SELECT n, typeof(n) FROM typed ORDER BY n"),
        "1|integer\n2|integer\n3|integer\n"
    );

    // Malformed files: an error naming the line, and nothing inserted or created.
    std::fs::write(env.path("open.csv"), "a,b\n1,2\n\"never closed,3\n4,5\n").unwrap();
    let r = env.run(&["-c", ".import open.csv bad"]).code(1);
    assert!(r.stderr.contains("open.csv line 3: unterminated quoted field"), "{}", r.stderr);
    std::fs::write(env.path("short.csv"), "a,b\n1,2\n3\n").unwrap();
    let r = env.run(&["-c", ".import short.csv bad"]).code(1);
    assert!(r.stderr.contains("short.csv line 3: expected 2 fields but found 1"), "{}", r.stderr);
    let r = env.run(&["-c", ".import --skip 1 short.csv typed"]).code(1);
    assert!(r.stderr.contains("short.csv line 2: expected 3 fields but found 2"), "{}", r.stderr);
    std::fs::write(env.path("junk.csv"), "a,b\n\"x\"y,2\n").unwrap();
    let r = env.run(&["-c", ".import junk.csv bad"]).code(1);
    assert!(r.stderr.contains("junk.csv line 2: a quoted field must be followed by a comma"), "{}", r.stderr);
    assert_eq!(env.run(&["-c", ".tables"]).ok().stdout, "people\ntyped\n", "no table 'bad' was made");
    assert_eq!(env.rows("tessera.db", "SELECT count(*) FROM typed"), "3\n");
    let r = env.run(&["-c", ".import missing.csv x"]).code(1);
    assert!(r.stderr.contains("cannot read missing.csv"), "{}", r.stderr);
}

#[test]
fn read_timer_quit_and_help() {
    let env = Env::new();
    std::fs::write(env.path("setup.sql"), "CREATE TABLE k(x);\nINSERT INTO k VALUES (1), (2);\n.mode list\n").unwrap();
    let r = env.script(&[], ".read setup.sql\nSELECT sum(x) FROM k;\n").ok();
    assert_eq!(r.stdout, "sum(x)\n3\n", "settings made in the file stay");

    std::fs::write(env.path("broken.sql"), "SELECT 1;\n\nSELECT * FROM missing;\n").unwrap();
    let r = env.script(&[], ".read broken.sql\nSELECT 2;\n").code(1);
    assert_eq!(r.stderr, "Error: near line 3 of broken.sql: no such table: missing\n");
    assert!(!r.stdout.contains("| 2 |"), "the outer script stopped too: {}", r.stdout);
    std::fs::write(env.path("loop.sql"), ".read loop.sql\n").unwrap();
    let r = env.run(&["-c", ".read loop.sql"]).code(1);
    assert!(r.stderr.contains("nested"), "{}", r.stderr);

    let r = env.script(&[], ".timer on\nSELECT 1;\n.timer off\nSELECT 2;\n").ok();
    let timed: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("Run Time: real ")).collect();
    assert_eq!(timed.len(), 1, "{}", r.stdout);
    let secs = timed[0].trim_start_matches("Run Time: real ");
    assert!(secs.parse::<f64>().is_ok_and(|s| s >= 0.0) && secs.len() >= 5, "{}", timed[0]);

    let r = env.script(&[], "SELECT 1;\n.quit\nSELECT * FROM nowhere;\n").ok();
    assert!(r.stdout.contains("| 1 |") && r.stderr.is_empty(), "{}", r.stderr);

    let help = env.run(&["-c", ".help"]).ok().stdout;
    for cmd in [".dump", ".import", ".mode", ".read", ".schema", ".tables", ".timer", ".quit", ".headers"] {
        assert!(help.contains(cmd), "{cmd} in {help}");
    }
}

#[test]
fn dispatch_between_shell_and_key_value_commands() {
    let env = Env::new();
    // The file before or after -c, or with --db.
    env.run(&["a.db", "-c", "CREATE TABLE x(v); INSERT INTO x VALUES (1)"]).ok();
    env.run(&["-c", "INSERT INTO x VALUES (2)", "a.db"]).ok();
    env.run(&["--db", "a.db", "-c", "INSERT INTO x VALUES (3)"]).ok();
    env.script(&["-f", "a.db"], "INSERT INTO x VALUES (4);").ok();
    assert_eq!(env.rows("a.db", "SELECT group_concat(v) FROM x"), "1,2,3,4\n");
    assert!(!env.path("tessera.db").exists());

    // Key-value commands work as before, on the same files.
    env.run(&["--db", "a.db", "put", "kv", "k", "v"]).ok();
    assert_eq!(env.run(&["-f", "a.db", "get", "kv", "k"]).ok().stdout, "v\n");
    assert!(env.run(&["-f", "a.db", "tables"]).ok().stdout.contains("sql:schema\t"));

    // A file that is not a database is left alone.
    std::fs::write(env.path("notes.txt"), "hello, this is not a database file at all, just text....\n".repeat(4))
        .unwrap();
    let r = env.run(&["notes.txt", "-c", "SELECT 1"]).code(1);
    assert!(r.stderr.contains("not a Tessera database"), "{}", r.stderr);
    // Statements that only need no database (dot-commands) still work without one.
    env.run(&["nothing.db", "-c", ".mode csv"]).ok();
    assert!(!env.path("nothing.db").exists(), "the file is opened only when needed");
}

#[test]
fn parameters_in_shell_statements_are_null() {
    // As in sqlite3 without `.parameter set`: the shell binds NULL to every parameter.
    let env = Env::new();
    let r = env.script(&[], ".mode list\n.headers off\n.nullvalue NULL\nSELECT ?, :a, 1;\n").ok();
    assert_eq!(r.stdout, "NULL|NULL|1\n");
}

#[test]
fn memory_database_leaves_no_file() {
    let env = Env::new();
    let out = env.rows(":memory:", "CREATE TABLE m(x); INSERT INTO m VALUES (41), (1); SELECT sum(x) FROM m;");
    assert_eq!(out, "42\n");
    assert!(!env.path(":memory:").exists(), ":memory: is not a file name");
    assert!(!env.path("tessera.db").exists());
    // Each run is a fresh database.
    env.run(&[":memory:", "-c", "SELECT * FROM m"]).code(1);
}
