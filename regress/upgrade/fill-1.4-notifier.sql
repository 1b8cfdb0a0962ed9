-- The notifier's part of fill-1.4.sql: 1.4's notifier functions take the calls of 1.3's.
\ir fill-1.3-notifier.sql
