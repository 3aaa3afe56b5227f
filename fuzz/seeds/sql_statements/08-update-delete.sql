UPDATE t SET c = c * 2, b = upper(b) WHERE a % 2 = 1 RETURNING *;
DELETE FROM u WHERE x IN (SELECT a FROM t WHERE c < 0);
UPDATE u SET y = y || '!' WHERE z IS NULL
