-- The shape of the data a version holds, one line per column, constraint, index, policy and
-- trigger of schemas ta and api, sorted: what an upgrade step expects to find before it starts
-- (sql/releases/schema-<version>.txt). Functions are left out: a step replaces what it changes.
SELECT line FROM (
    SELECT format('column %s.%s.%s %s%s', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN ' not null' ELSE '' END) AS line
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE n.nspname IN ('ta', 'api') AND c.relkind IN ('r', 'p', 'v', 'c')
    UNION ALL
    SELECT format('constraint %s.%s %s %s', n.nspname, c.relname, k.conname, pg_catalog.pg_get_constraintdef(k.oid))
      FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('ta', 'api')
    UNION ALL
    SELECT format('index %s', pg_catalog.pg_get_indexdef(i.indexrelid))
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('ta', 'api')
    UNION ALL
    SELECT format('policy %s.%s %s %s %s %s', n.nspname, c.relname, p.polname, p.polcmd,
                  pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
      FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('ta', 'api')
    UNION ALL
    SELECT format('trigger %s', pg_catalog.pg_get_triggerdef(t.oid))
      FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('ta', 'api') AND NOT t.tgisinternal
    UNION ALL
    SELECT format('enum %s.%s %s', n.nspname, t.typname, (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                                                             FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid))
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname IN ('ta', 'api') AND t.typtype = 'e'
) f
ORDER BY line
