SELECT ((((((((((1+2)*3)-4)/5)%6)||7)<8)=9)<>10)AND 11);
SELECT a FROM t WHERE a IN (SELECT x FROM u WHERE x IN (SELECT a FROM t WHERE a IN (SELECT x FROM u)));
SELECT - - - - - - - - 1
