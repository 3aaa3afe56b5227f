SELECT t.a, u.y, length(u.z) FROM t JOIN u ON u.x = t.a WHERE u.y > 'a';
SELECT count(*) FROM t, u WHERE t.a < u.x;
SELECT * FROM t LEFT JOIN u ON t.b = u.y
