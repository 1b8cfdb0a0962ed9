-- ta: the data and the internals, reachable only by the owner.
-- api: the functions the application may call.
CREATE SCHEMA ta;
COMMENT ON SCHEMA ta IS 'TherapyAssistance data and internals (owner only).';
CREATE SCHEMA api;
COMMENT ON SCHEMA api IS 'TherapyAssistance api: one function per use case, granted to the application role.';
-- notifier: the functions the reminder sender (notifier/) may call, granted to its role only.
CREATE SCHEMA notifier;
COMMENT ON SCHEMA notifier IS 'TherapyAssistance notifier: claim and record outbox messages (ta.grant_notifier).';
