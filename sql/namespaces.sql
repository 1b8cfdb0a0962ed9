-- ta: the data and the internals, reachable only by the owner.
-- api: the functions the application may call.
CREATE SCHEMA ta;
COMMENT ON SCHEMA ta IS 'TherapyAssistance data and internals (owner only).';
CREATE SCHEMA api;
COMMENT ON SCHEMA api IS 'TherapyAssistance api: one function per use case, granted to the application role.';
