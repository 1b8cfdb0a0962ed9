-- The notifier's part of fill-1.2.sql: 1.2's notifier functions take the calls of 1.1's.
\ir fill-1.1-notifier.sql
