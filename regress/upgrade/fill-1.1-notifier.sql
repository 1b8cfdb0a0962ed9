-- The notifier's part of fill-1.1.sql (run after it by regress/upgrade.sh as the notifier role,
-- once the owner has granted it with ta.grant_notifier, which writes its ta.senders row as make
-- up does): the sender says what it can send (ta.senders), then handles the messages that
-- fill-1.1.sql made due at once (the test message, the password-reset link, tomorrow's
-- reminders) as notifier/src does, one transaction per message: claim, hand over, record.
\set ON_ERROR_STOP on
\set QUIET on
\set url 'https://gabinet.example.pl'
SELECT notifier.hello(true, true) IS NULL AS unused \gset
SELECT notifier.next_due('{email,sms}') IS NULL AS unused \gset
-- Two e-mails handed over (sent); a third refused for good (failed, with the reason).
SELECT count(notifier.record_sent(m.id)) AS handled FROM notifier.claim(:'url', '{email}') m \gset
SELECT count(notifier.record_sent(m.id)) AS handled FROM notifier.claim(:'url', '{email}') m \gset
SELECT count(notifier.record_failure(m.id, '550 5.1.1 skrzynka nie istnieje', true, 60)) AS handled
  FROM notifier.claim(:'url', '{email}') m \gset
-- An SMS the gateway could not take now: pending again, retried after a minute.
SELECT count(notifier.record_failure(m.id, 'bramka SMS: błąd 8 (przekroczony czas)', false, 60)) AS handled
  FROM notifier.claim(:'url', '{sms}') m \gset
