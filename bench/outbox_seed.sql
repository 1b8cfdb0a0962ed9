-- bench/outbox.sh and bench/instructions.sh: a practice of 100 patients consenting to e-mail and SMS
-- reminders (reminders off until a bench turns them on), the sequence that hands out appointment slots, and
-- the owner's token, printed: run as the superuser with psql -tA.
SELECT api.register('{"email": "bench@example.com", "password": "haslo-bench"}') IS NOT NULL \g /dev/null
SELECT set_config('request.jwt', ta.issue_token(u) ->> 'access_token', false)
  FROM ta.users u WHERE email = 'bench@example.com' \g /dev/null
SELECT count(api.create_patient(json_build_object('name', 'Pacjent ' || i, 'phone', '+48 600 000 ' || lpad(i::text, 3, '0'),
                                                  'email', 'p' || i || '@example.com', 'reminder_email', true,
                                                  'reminder_sms', true)))
  FROM generate_series(1, 100) i \g /dev/null
SELECT api.update_reminder_settings('{"email_enabled": false, "sms_enabled": false, "hours_before": 24}') IS NOT NULL \g /dev/null
CREATE SEQUENCE public.bench_slot \g /dev/null
GRANT USAGE ON SEQUENCE public.bench_slot TO ta_app \g /dev/null
SELECT current_setting('request.jwt');
