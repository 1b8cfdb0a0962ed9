-- The calendar feed: a secret URL (only its SHA-256 stored), revocable and rotatable,
-- serving RFC 5545 with initials only; unknown tokens answer 404, are counted and
-- throttled per address like failed logins; every fetch is audited.
SET ROLE regress_ta_app;
SELECT regress.login('grafik@gabinet-c.example.com');
SELECT (api.list_patients('{}') -> 0 ->> 'id') AS anna, (api.list_patients('{}') -> 1 ->> 'id') AS lucja \gset
-- Sessions in the feed's window (30 days back to 366 ahead), one cancelled, one far outside.
SELECT regress.call(format('SELECT api.create_appointment(%L) ->> ''status''', json_build_object('patient_id', p, 'date', current_date + d,
       'start_time', '09:00', 'end_time', '09:50', 'price', 150)))
  FROM (VALUES (:anna, 3), (:lucja, 4), (:anna, 200), (:lucja, -29), (:anna, -40), (:anna, 400)) t(p, d);
SELECT regress.call(format('SELECT api.update_appointment(%s, ''{"status": "cancelled", "cancel_reason": "therapist"}'') ->> ''status''',
       api.list_appointments(json_build_object('date_from', current_date + 4, 'date_to', current_date + 4)) -> 0 ->> 'id'));
SELECT regress.call('SELECT api.get_calendar_feed() ->> ''enabled''');
SELECT api.create_calendar_feed() ->> 'url' AS url \gset
SELECT :'url' ~ '^/calendar/[A-Za-z0-9_-]{43}\.ics$' AS url_shape, regexp_replace(:'url', '^/calendar/(.*)\.ics$', '\1') AS token \gset
SELECT :'url_shape';
SELECT regress.call('SELECT api.get_calendar_feed() ->> ''enabled''');
RESET ROLE;
-- Only the hash is stored.
SELECT count(*) AS feeds, bool_and(token_sha256 = sha256(convert_to(:'token', 'UTF8'))) AS hashed,
       bool_and(position(convert_to(:'token', 'UTF8') IN token_sha256) = 0) AS token_not_stored
  FROM ta.calendar_feeds;

-- The fetch, as the proxy makes it: no claims, the client's address only.
SET ROLE regress_ta_app;
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL AS anonymous;
SELECT set_config('request.client_addr', '203.0.113.7', false) IS NOT NULL AS from_address;
CREATE TEMP TABLE feed AS SELECT api.calendar_feed(:'token') AS ics;
-- The price (150) counts as a leak only as a number of its own: a DTSTAMP such as T121502Z holds "150".
SELECT left(ics, 15) = E'BEGIN:VCALENDAR' AS starts, right(ics, 15) = E'END:VCALENDAR\r\n' AS ends,
       ics !~ E'[^\r]\n' AS only_crlf,
       (SELECT max(octet_length(l)) FROM regexp_split_to_table(ics, E'\r\n') l) <= 75 AS lines_at_most_75_octets,
       (SELECT count(*) FROM regexp_matches(ics, 'BEGIN:VEVENT', 'g')) AS events,
       (SELECT count(*) FROM regexp_matches(ics, 'STATUS:CANCELLED', 'g')) AS cancelled,
       (SELECT array_agg(DISTINCT m[1] ORDER BY m[1]) FROM regexp_matches(ics, E'SUMMARY:([^\r]*)', 'g') m) AS summaries,
       ics LIKE '%VERSION:2.0%' AND ics LIKE '%PRODID:%' AND ics LIKE '%BEGIN:VTIMEZONE%TZID:Europe/Warsaw%' AS header,
       (SELECT count(*) FROM regexp_matches(ics, 'DTSTART;TZID=Europe/Warsaw:[0-9]{8}T090000', 'g')) AS local_starts,
       ics ~* 'Kowalsk|Żak|Nowak|Anna|Łucja|(^|[^0-9])150([^0-9]|$)|PLN|@example' AS leaks
  FROM feed;
-- UIDs are the same on every fetch.
SELECT (SELECT array_agg(m[1]) FROM feed, regexp_matches(ics, E'UID:([^\r]*)', 'g') m)
     = (SELECT array_agg(m[1]) FROM regexp_matches(api.calendar_feed(:'token'), E'UID:([^\r]*)', 'g') m) AS stable_uids;
RESET ROLE;
-- The audit writer may still hold the fetch's row (ta.audit_flush waits for it).
SELECT count(*) AS flushed FROM (SELECT ta.audit_flush()) f;
SELECT action, route IS NULL AS no_route, cardinality(patient_ids) AS patients, client_addr FROM ta.audit_log
 WHERE practice_id = (SELECT practice_id FROM ta.calendar_feeds) ORDER BY id DESC LIMIT 2;

-- Unknown, malformed and revoked tokens: 404, nothing served.
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.calendar_feed(%L)', t)) FROM (VALUES
    (repeat('A', 43)), (:'token' || '.ics'), (left(:'token', 42)), (:'token' || 'x'), ('../../etc/passwd'), (''), (left(:'token', 42) || '!')) v(t);
SELECT regress.login('grafik@gabinet-c.example.com');
SELECT api.create_calendar_feed() ->> 'url' AS url2 \gset
SELECT :'url2' <> :'url' AS rotated, regexp_replace(:'url2', '^/calendar/(.*)\.ics$', '\1') AS token2 \gset
SELECT :'rotated';
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL AS anonymous;
SELECT regress.call(format('SELECT api.calendar_feed(%L)', :'token'));
SELECT regress.call(format('SELECT left(api.calendar_feed(%L), 15)', :'token2'));
SELECT regress.login('grafik@gabinet-c.example.com');
SELECT regress.call('SELECT api.delete_calendar_feed()');
SELECT regress.call('SELECT api.get_calendar_feed() ->> ''enabled''');
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL AS anonymous;
SELECT regress.call(format('SELECT api.calendar_feed(%L)', :'token2'));
-- The tenth failure from this address in 15 minutes throttles it (a valid token too);
-- another address is not affected.
SELECT regress.call(format('SELECT api.calendar_feed(%L)', repeat('B', 43)));
SELECT regress.login('grafik@gabinet-c.example.com');
SELECT regexp_replace(api.create_calendar_feed() ->> 'url', '^/calendar/(.*)\.ics$', '\1') AS token3 \gset
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL AS anonymous;
SELECT regress.call(format('SELECT api.calendar_feed(%L)', :'token3'));
SELECT regress.call(format('SELECT api.calendar_feed(%L)', repeat('B', 43)));
SELECT set_config('request.client_addr', '198.51.100.1', false) IS NOT NULL AS other_address;
SELECT regress.call(format('SELECT left(api.calendar_feed(%L), 15)', :'token3'));
SELECT regress.call(format('SELECT api.calendar_feed(%L)', repeat('C', 43)));
RESET ROLE;
SELECT client_addr, count(*) FROM ta.feed_failures GROUP BY 1 ORDER BY 1;
-- Folding: at 75 octets, never inside a UTF-8 character; initials of every name.
SELECT octet_length(l) AS octets, left(l, 3) AS starts FROM regexp_split_to_table(ta.ical_line('SUMMARY:' || repeat('Żółć', 30)), E'\r\n') l;
SELECT ta.ical_line('SUMMARY:' || repeat('Żółć', 30)) = 'SUMMARY:' || repeat('Żółć', 30) || E'\r\n' AS folded;
SELECT replace(ta.ical_line('SUMMARY:' || repeat('Żółć', 30)), E'\r\n ', '') = 'SUMMARY:' || repeat('Żółć', 30) || E'\r\n' AS unfolds;
SELECT n, ta.initials(n), ta.ical_text(n) FROM (VALUES ('Anna Kowalska'), ('Łucja Żak-Nowak'), ('  jan  '), ('(Pan) X'), ('Maria Anna Ewa Lis'), ('123'), ('a;b,c\d')) t(n);
SELECT set_config('request.client_addr', '', false) = '' AS address_cleared;
