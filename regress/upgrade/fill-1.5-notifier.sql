-- The notifier's part of fill-1.5.sql: 1.5's notifier functions take the calls of 1.4's.
\ir fill-1.4-notifier.sql
