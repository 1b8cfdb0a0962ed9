-- Patients: create, read, list (paging, search), update any subset, archive.
SET ROLE regress_ta_app;
SELECT regress.login('anna@gabinet-a.example.com');
SELECT regress.call($$SELECT api.create_patient('{"name": "Jan Kowalski", "phone": "+48 600 100 200", "email": "jan@example.com", "notes": "Pierwsza wizyta"}')$$);
SELECT regress.call($$SELECT api.create_patient('{"name": "Zofia Nowak"}')$$);
SELECT regress.call($$SELECT api.create_patient('{"name": "Ewa Lis", "phone": "", "email": "  "}')$$);
SELECT regress.call(format('SELECT api.get_patient(%s)', id))
  FROM (SELECT (api.list_patients('{}') -> 0 ->> 'id')::bigint AS id) p;

-- Listing: order by id, skip and limit, search by name, email or phone.
SELECT regress.call($$SELECT json_agg(p ->> 'name') FROM json_array_elements(api.list_patients('{}')) p$$);
SELECT regress.call($$SELECT json_agg(p ->> 'name') FROM json_array_elements(api.list_patients('{"skip": "1", "limit": "1"}')) p$$);
SELECT regress.call($$SELECT json_agg(p ->> 'name') FROM json_array_elements(api.list_patients('{"search": "NOWAK"}')) p$$);
SELECT regress.call($$SELECT json_agg(p ->> 'name') FROM json_array_elements(api.list_patients('{"search": "jan@"}')) p$$);
SELECT regress.call($$SELECT api.list_patients('{"search": "nikogo"}')$$);
SELECT regress.call(format('SELECT api.list_patients(%L)', q)) FROM (VALUES
    ('{"skip": "-1"}'), ('{"limit": "0"}'), ('{"limit": "1001"}'), ('{"limit": "dużo"}'), ('{"skip": "1.5"}'),
    ('{"limit": "99999999999999999999"}')
) AS t(q);

-- Update: only the fields sent; null clears an optional field; name cannot be cleared.
SELECT regress.call(format('SELECT api.update_patient(%s, %L)', id, '{"phone": "+48 111 222 333"}'))
  FROM (SELECT (api.list_patients('{"search": "Jan Kowalski"}') -> 0 ->> 'id')::bigint AS id) p;
SELECT regress.call(format('SELECT api.update_patient(%s, %L)', id, '{"email": null, "notes": "Zmiana terminu"}'))
  FROM (SELECT (api.list_patients('{"search": "Jan Kowalski"}') -> 0 ->> 'id')::bigint AS id) p;
SELECT regress.call(format('SELECT api.update_patient(%s, %L)', id, b))
  FROM (SELECT (api.list_patients('{"search": "Jan Kowalski"}') -> 0 ->> 'id')::bigint AS id) p,
       (VALUES ('{"name": null}'), ('{"name": ""}'), ('{"name": "   "}'), ('{"email": "zly@"}'),
               ('{"phone": 600100200}'), ('{"name": ["Jan"]}'), ('[1]')) AS t(b);
SELECT regress.call($$SELECT api.update_patient(999999, '{"name": "Nikt"}')$$);
SELECT regress.call($$SELECT api.get_patient(999999)$$);

-- Create refused.
SELECT regress.call(format('SELECT api.create_patient(%L)', b)) FROM (VALUES
    ('{}'), ('{"name": null}'), ('{"name": ""}'), ('{"name": 12}'), ('{"name": "Ok", "email": "nie-email"}'),
    ('{"name": "' || repeat('x', 201) || '"}'), ('{"name": "Ok", "phone": "' || repeat('1', 51) || '"}')
) AS t(b);

-- Archive: gone from the api, kept in the table with who and when.
SELECT regress.call(format('SELECT api.delete_patient(%s)', id))
  FROM (SELECT (api.list_patients('{"search": "Zofia"}') -> 0 ->> 'id')::bigint AS id) p;
SELECT regress.call($$SELECT json_agg(p ->> 'name') FROM json_array_elements(api.list_patients('{}')) p$$);
SELECT regress.call($$SELECT api.delete_patient(999999)$$);
RESET ROLE;
SELECT name, deleted_at IS NOT NULL AS archived, deleted_by = (SELECT id FROM ta.users WHERE email = 'anna@gabinet-a.example.com') AS by_anna
  FROM ta.patients WHERE name = 'Zofia Nowak';
SELECT id AS zofia FROM ta.patients WHERE name = 'Zofia Nowak' \gset
SET ROLE regress_ta_app;
SELECT regress.call('SELECT api.get_patient(' || :zofia || ')');
SELECT regress.call('SELECT api.update_patient(' || :zofia || ', ''{"name": "Wskrzeszona"}'')');
RESET ROLE;
