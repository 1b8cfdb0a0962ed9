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
DROP SCHEMA json_rows_test CASCADE;
RESET TimeZone;
