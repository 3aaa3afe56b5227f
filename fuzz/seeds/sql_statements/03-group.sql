SELECT b, count(*), sum(c), avg(c), min(a), max(a), total(c), group_concat(a) FROM t GROUP BY b HAVING count(*) > 0 ORDER BY 2 DESC, 1
