-- The notifier's part of fill-1.3.sql: 1.3's notifier functions take the calls of 1.2's.
\ir fill-1.2-notifier.sql
