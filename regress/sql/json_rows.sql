-- ta.json_rows (issue 18): json_agg's text, byte for byte, over rows holding every column type
-- the api writes (NULLs, Polish letters, control characters, quotes, prices, times, enums,
-- arrays), over the api's own row types, and over what is no row at all.
SET client_min_messages = warning;
SET TimeZone = 'Europe/Warsaw';
CREATE SCHEMA json_rows_test;
CREATE DOMAIN json_rows_test.price AS numeric(10, 2);
CREATE TYPE json_rows_test.inner_row AS (n integer, t text);
CREATE TABLE json_rows_test.r (
    id bigint, name text, price numeric, paid boolean, at timestamptz, local_at timestamp, day date,
    start_time time, status ta.appointment_status, cancel_reason ta.cancel_reason, ids bigint[],
    gone integer, small smallint, ratio float8, doc json, docb jsonb, nested json_rows_test.inner_row,
    amount json_rows_test.price, tags text[]);
ALTER TABLE json_rows_test.r DROP COLUMN gone;
INSERT INTO json_rows_test.r VALUES
    (1, 'Zażółć gęślą jaźń', 150.00, true, '2030-01-07 10:00:00.123456+01', '2030-01-07 10:00', '2030-01-07',
     '10:50', 'scheduled', NULL, '{1,2,3}', 1, 0.5, '{"a": [1, 2]}', '{"b": "ź", "a": 1}', ROW(1, 'x"y'),
     99.99, '{"a b","c\"d",NULL}'),
    (2, E'cudzysłów " i \\ ukośnik, tab\t, nowa\nlinia, \x01\x1f', 99.99, false, '1999-12-31 23:59:59+00',
     '1999-12-31 23:59:59.5', '1900-01-01', '23:59:59', 'cancelled', 'patient', '{}', -32768, 'NaN', 'null', 'null',
     NULL, 0, '{}'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, '', 'NaN', true, 'infinity', '-infinity', 'infinity', '00:00', 'completed', 'therapist', '{NULL,9223372036854775807}',
     32767, 'Infinity', '[]', '{}', ROW(NULL, NULL), -0.01, '{}'),
    (5, 'ÓĄĆĘŁŃŚŹŻ óąćęłńśźż €', 'Infinity', false, '2030-06-30 12:00+02', '2030-06-30 12:00', '2030-06-30',
     '12:34:56.789', 'no_show', NULL, '{-1}', NULL, '-Infinity', '"s"', '[1, "a", null]', ROW(-5, ''), NULL, NULL);

-- Every row, in order, with NULL rows among them, a record type, a single row, none.
SELECT ta.json_rows(r ORDER BY id)::text = json_agg(r ORDER BY id)::text AS same_rows FROM json_rows_test.r r;
SELECT ta.json_rows(r ORDER BY id DESC)::text = json_agg(r ORDER BY id DESC)::text AS same_desc FROM json_rows_test.r r;
SELECT ta.json_rows(x ORDER BY o)::text = json_agg(x ORDER BY o)::text AS same_with_nulls
  FROM (SELECT CASE WHEN id % 2 = 0 THEN NULL ELSE r END AS x, id AS o FROM json_rows_test.r r
        UNION ALL SELECT NULL, 0) s;
SELECT ta.json_rows(ROW(r.id, r.name, r.at) ORDER BY id)::text = json_agg(ROW(r.id, r.name, r.at) ORDER BY id)::text
       AS same_records FROM json_rows_test.r r;
SELECT ta.json_rows(r)::text = json_agg(r)::text AS same_one FROM json_rows_test.r r WHERE id = 2;
SELECT ta.json_rows(r) IS NULL AS none_is_null FROM json_rows_test.r r WHERE false;
-- The api's own rows: ta.appointment_out and ta.patient_out of made-up rows.
SELECT ta.json_rows(x ORDER BY id)::text = json_agg(x ORDER BY id)::text AS same_appointments
  FROM (SELECT ROW(id, id + 10, day, start_time, start_time, NULL, paid, price, at, status, cancel_reason, paid,
                   CASE WHEN id > 2 THEN id END)::ta.appointment_out AS x, id
          FROM json_rows_test.r) s;
SELECT ta.json_rows(x ORDER BY id)::text = json_agg(x ORDER BY id)::text AS same_patients
  FROM (SELECT ROW(id, name, name, name, name, at, paid, NOT paid, at, NULL)::ta.patient_out AS x, id
          FROM json_rows_test.r) s;
-- Not rows: scalars, json, domains, enums, like json_agg (arrays are no elements: the plain-SQL
-- install collects the elements in an array).
SELECT ta.json_rows(name ORDER BY id)::text = json_agg(name ORDER BY id)::text AS same_text,
       ta.json_rows(price ORDER BY id)::text = json_agg(price ORDER BY id)::text AS same_numeric,
       ta.json_rows(docb ORDER BY id)::text = json_agg(docb ORDER BY id)::text AS same_jsonb,
       ta.json_rows(amount ORDER BY id)::text = json_agg(amount ORDER BY id)::text AS same_domain,
       ta.json_rows(status ORDER BY id)::text = json_agg(status ORDER BY id)::text AS same_enum,
       ta.json_rows(nested ORDER BY id)::text = json_agg(nested ORDER BY id)::text AS same_nested
  FROM json_rows_test.r;
-- The text itself.
SELECT ta.json_rows(r ORDER BY id) FROM json_rows_test.r r WHERE id IN (1, 3);
SELECT ta.json_rows(x), ta.json_rows(x)::text = json_agg(x)::text AS same FROM (VALUES (NULL::json_rows_test.inner_row), (ROW(1, 'a')::json_rows_test.inner_row), (NULL), (ROW(2, NULL)::json_rows_test.inner_row)) v(x);
-- Integers, text and varchar (written without their output functions): the extremes, every
-- character from 1 to 255 and a few beyond, long texts.
CREATE TABLE json_rows_test.k (i2 smallint, i4 integer, i8 bigint, v varchar(300), t text);
INSERT INTO json_rows_test.k VALUES
    (-32768, -2147483648, -9223372036854775808, '', ''), (32767, 2147483647, 9223372036854775807, 'a"b\c', E'\\'),
    (0, 0, 0, NULL, NULL), (-1, -10, -100, E'\x01', E'\x7f'),
    (1, 10, 100, (SELECT string_agg(chr(i), '') FROM generate_series(1, 255) i),
     (SELECT string_agg(chr(i), '' ORDER BY i DESC) FROM generate_series(1, 2100) i)),
    (2, 20, 200, E'"\\"', repeat(E'Zażółć\t"gęślą"\n\\jaźń\x1f', 500));
SELECT ta.json_rows(k ORDER BY i2)::text = json_agg(k ORDER BY i2)::text AS same_strings FROM json_rows_test.k k;
-- timestamptz, converted with the zone's offset kept until its next DST boundary: in many zones
-- (DST both ways, half-hour offsets, negative DST, abolished DST, no DST, a fixed offset) the
-- instant of every change of their clocks in March-April and September-November of 1977, 2026
-- and 2040 (past the zone files' last transition) and a microsecond either side, those months
-- every 6 hours, instants spread over 1600-2400, years 1 and 9999, BC, the infinities, NULL; read
-- in time order and shuffled (a stretch met again below its start is extended downwards), with
-- the session's TimeZone changed between the rows of one aggregate.
SET jit = off;  -- a few thousand rows, estimated as millions: compiling them took longer than running
CREATE TABLE json_rows_test.zones (z integer, name text);
INSERT INTO json_rows_test.zones VALUES (1, 'Europe/Warsaw'), (2, 'America/New_York'), (3, 'Australia/Lord_Howe'),
    (4, 'Asia/Kolkata'), (5, 'UTC'), (6, '-02:30'), (7, 'Europe/Dublin'), (8, 'Antarctica/Troll'),
    (9, 'America/Sao_Paulo');
CREATE TABLE json_rows_test.ts (o integer GENERATED ALWAYS AS IDENTITY, at timestamptz, shuffle integer);
WITH months(m) AS (
    SELECT generate_series(make_timestamptz(y, 3, 1, 0, 0, 0, 'UTC'), make_timestamptz(y, 4, 30, 0, 0, 0, 'UTC'), '30 minutes')
      FROM unnest(ARRAY[1977, 2026, 2040]) y
    UNION ALL
    SELECT generate_series(make_timestamptz(y, 9, 1, 0, 0, 0, 'UTC'), make_timestamptz(y, 11, 30, 0, 0, 0, 'UTC'), '30 minutes')
      FROM unnest(ARRAY[1977, 2026, 2040]) y)
INSERT INTO json_rows_test.ts (at)
SELECT at FROM (
    SELECT m + d * interval '1 microsecond'
      FROM (SELECT DISTINCT m FROM months, json_rows_test.zones z
             WHERE (m AT TIME ZONE z.name) - ((m - interval '30 minutes') AT TIME ZONE z.name) <> interval '30 minutes') c,
           (VALUES (-1), (0), (1)) d(d)
    UNION SELECT m FROM months WHERE extract(hour FROM m AT TIME ZONE 'UTC')::int % 6 = 0 AND extract(minute FROM m) = 0
    UNION SELECT timestamptz '1600-01-01 00:00+00' + i * interval '3517 hours 678901 microseconds'
            FROM generate_series(0, 2000) i) t(at)
 ORDER BY at;
INSERT INTO json_rows_test.ts (at) VALUES
    ('0001-01-01 00:00+00'), ('0001-01-01 12:34:56.5+00'), ('9999-12-31 12:00+00'), ('9999-12-31 23:59:59.999999+00'),
    ('0044-03-15 12:00+00 BC'), ('1899-12-31 23:59:59.5+00'), ('1969-12-31 23:59:59.999999+00'), ('1970-01-01 00:00+00'),
    ('2038-01-19 03:14:08+00'), ('2100-02-28 12:00+00'), ('infinity'), ('-infinity'), (NULL), (NULL);
UPDATE json_rows_test.ts SET shuffle = ('x' || left(md5(o::text), 7))::bit(28)::integer;
SELECT count(*) >= 10 AS changes_found FROM json_rows_test.ts WHERE extract(microsecond FROM at)::int % 1000000 = 999999;
-- Zone by zone (the TimeZone set in the function, for its query), odd ones in time order, even
-- ones shuffled; the two aggregates agree on every row or the zone's line says false.
CREATE FUNCTION json_rows_test.same_in(zone text, shuffled boolean) RETURNS boolean
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('TimeZone', zone, true);
    RETURN (SELECT ta.json_rows(t ORDER BY CASE WHEN shuffled THEN t.shuffle ELSE t.o END)::text
                   = json_agg(t ORDER BY CASE WHEN shuffled THEN t.shuffle ELSE t.o END)::text
              FROM json_rows_test.ts t);
END $$;
SELECT z.name, json_rows_test.same_in(z.name, z.z % 2 = 0) AS same FROM json_rows_test.zones z ORDER BY z.z;
-- The zone changing with every row of one aggregate (Warsaw, New York, Warsaw, ...: set before the
-- row is written). The plain-SQL install's ta.json_rows writes its rows at the end, all in the zone
-- of then, unlike json_agg: nothing to compare there.
SELECT ta.json_rows(ROW(set_config('TimeZone', s.name, true), s.at))::text
       = json_agg(ROW(set_config('TimeZone', s.name, true), s.at))::text
       OR NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'therapyassistance') AS same_alternating
  FROM (SELECT CASE WHEN t.o % 2 = 0 THEN 'Europe/Warsaw' ELSE 'America/New_York' END, t.at
          FROM json_rows_test.ts t ORDER BY t.o) s(name, at);
-- The session's zone changed between two lists (the same instants, other offsets).
SET TimeZone = 'America/New_York';
SELECT ta.json_rows(t ORDER BY o)::text = json_agg(t ORDER BY o)::text AS same_new_york FROM json_rows_test.ts t;
SET TimeZone = 'Europe/Warsaw';
SELECT ta.json_rows(t ORDER BY o)::text = json_agg(t ORDER BY o)::text AS same_warsaw FROM json_rows_test.ts t;
SELECT ta.json_rows(t ORDER BY o) FROM json_rows_test.ts t
 WHERE at IN ('2026-03-29 00:59:59.999999+00', '2026-03-29 01:00+00', '2026-10-25 00:59:59.999999+00',
              '2026-10-25 01:00+00', '1899-12-31 23:59:59.5+00', '0044-03-15 12:00+00 BC', 'infinity');
DROP SCHEMA json_rows_test CASCADE;
RESET jit;
RESET TimeZone;
