PRAGMA synchronous;
PRAGMA synchronous = NORMAL;
PRAGMA table_info(t);
EXPLAIN SELECT * FROM t JOIN u ON u.x = t.a ORDER BY b;
EXPLAIN QUERY PLAN SELECT b, count(*) FROM t GROUP BY b;
REINDEX
