-- bench/audit.sh and bench/audit_batch.sh: a practice of 100 patients, and its owner's token, printed: run
-- as the superuser with psql -tA.
SELECT api.register('{"email": "bench@example.com", "password": "haslo-bench"}') IS NOT NULL \g /dev/null
SELECT set_config('request.jwt', ta.issue_token(u) ->> 'access_token', false)
  FROM ta.users u WHERE email = 'bench@example.com' \g /dev/null
SELECT count(api.create_patient(json_build_object('name', 'Pacjent ' || i, 'phone', '+48 600 000 ' || lpad(i::text, 3, '0'),
                                                  'email', 'p' || i || '@example.com', 'notes', 'Notatka ' || i)))
  FROM generate_series(1, 100) i \g /dev/null
SELECT current_setting('request.jwt');
