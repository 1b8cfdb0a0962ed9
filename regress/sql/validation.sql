-- The strict input parsers behind every api field: NULL for anything not accepted.
SELECT v, ta.is_email(v) FROM (VALUES
    ('anna@example.com'), ('Anna.Kowalska+gabinet@example.co.uk'), ('a@b.pl'), ('zażółć@gęśla.pl'),
    (''), ('anna'), ('anna@'), ('@example.com'), ('anna@example'), ('anna@example.c'),
    ('anna@@example.com'), ('an na@example.com'), ('anna.@example.com'), ('.anna@example.com'),
    ('an..na@example.com'), ('anna@-example.com'), ('anna@example-.com'), ('anna@example..com'),
    ('anna@exa_mple.com'), ('"anna"@example.com'), ('anna@example.com '), ('anna@example.com.'),
    ('x'' OR 1=1 --@example.com'), (repeat('a', 65) || '@example.com'), (repeat('a', 64) || '@example.com'),
    ('a@' || repeat('b', 64) || '.com'), ('a@' || repeat('b', 63) || '.com')
) AS t(v);
SELECT ta.is_email(repeat('a', 60) || '@' || repeat('b.', 100) || 'com') AS too_long_255_plus;

SELECT v, ta.parse_date(v) FROM (VALUES
    ('2026-11-25'), ('2024-02-29'), ('1900-01-01'), ('2999-12-31'),
    ('2023-02-29'), ('2026-13-01'), ('2026-00-10'), ('2026-04-31'), ('2026-11-25 '), ('26-11-25'),
    ('2026/11/25'), ('2026-1-5'), ('1899-12-31'), ('3000-01-01'), ('today'), (''), ('2026-11-25T10:00')
) AS t(v);

SELECT v, ta.parse_time(v) FROM (VALUES
    ('09:00'), ('09:00:30'), ('00:00'), ('23:59:59'),
    ('24:00'), ('9:00'), ('09:60'), ('09:00:60'), ('09:00:00.5'), ('09-00'), ('0900'), (''), ('noon')
) AS t(v);

SELECT v, ta.parse_money(v) FROM (VALUES
    ('150'), ('150.5'), ('150.50'), ('0'), ('-20.00'), ('99999999.99'),
    ('150.505'), ('1e3'), ('150.'), ('.5'), ('+5'), ('123456789'), ('1,5'), (' 150'), ('NaN'), ('Infinity'), ('')
) AS t(v);

-- NULL in, NULL out (STRICT).
SELECT ta.is_email(NULL), ta.parse_date(NULL), ta.parse_time(NULL), ta.parse_money(NULL);
