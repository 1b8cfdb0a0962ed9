-- One query per table and sequence of schema ta, as they are now: the table's row count and
-- the md5 of its rows, each column cast to the type it has now. regress/upgrade.sh keeps these
-- queries from before an upgrade and runs them again after it: a column dropped, a row lost or
-- a value changed (read back as its old type) gives another answer.
SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(r, %L ORDER BY r), %L)) FROM (SELECT ROW(%s)::text AS r FROM %I.%I) x;',
              c.relname, '|', '', string_agg(format('%I::%s', a.attname, format_type(a.atttypid, a.atttypmod)), ', '
                                           ORDER BY a.attnum), n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname = 'ta' AND c.relkind = 'r'
 GROUP BY n.nspname, c.relname
UNION ALL
SELECT format('SELECT %L, last_value, is_called FROM %I.%I;', c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'ta' AND c.relkind = 'S'
ORDER BY 1
