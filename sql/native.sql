-- The functions the extension implements in C (extension/). sql/fallback/native.sql
-- holds their SQL twins, with the same names, signatures and results.

CREATE FUNCTION ta.jwt_sign(claims json, secret text) RETURNS text
    AS 'MODULE_PATHNAME', 'jwt_sign' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ta.jwt_sign(json, text) IS
    'HS256 JWT of the claims, signed with secret (at least 32 bytes).';

CREATE FUNCTION ta.jwt_verify(token text, secret text) RETURNS json
    AS 'MODULE_PATHNAME', 'jwt_verify' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ta.jwt_verify(text, text) IS
    'The claims of a valid HS256 token with a numeric exp in the future; NULL for anything else.';

CREATE FUNCTION ta.verify_token(token text, secret text) RETURNS json
    AS 'MODULE_PATHNAME', 'jwt_verify' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ta.verify_token(text, text) IS
    'ta.jwt_verify as the caller check uses it (the plain-SQL install remembers the last token per backend).';

-- The user id of the caller (extension/caller.c): the token in request.jwt verified with the
-- secret in ta.settings (as ta.jwt_verify), its user live, of the practice it claims, at the
-- token version it carries (a password change ends older tokens) and its jti not logged out;
-- 401 otherwise. The verified claims then replace whatever request.jwt.claims and
-- ta.claims_pid held (as ta.set_claims), so row-level security (ta.current_practice_id) sees
-- only what a valid token says. The same checks as its PL/pgSQL twin (fallback/native.sql),
-- without the cost of PL/pgSQL, json_to_record and four regular expressions at every request.
CREATE FUNCTION ta.caller() RETURNS bigint
    AS 'MODULE_PATHNAME', 'ta_caller' LANGUAGE C;
COMMENT ON FUNCTION ta.caller() IS
    'Verifies request.jwt (signature, exp, live user, token version, not logged out) and returns the user id; 401 otherwise.';

CREATE FUNCTION ta.secure_equal(a text, b text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'secure_equal' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ta.secure_equal(text, text) IS
    'Equality in time independent of the contents (for password hashes).';

CREATE FUNCTION ta.is_email(address text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'is_email' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ta.is_email(text) IS 'local@domain.tld with a dot-atom local part.';

CREATE FUNCTION ta.parse_date(value text) RETURNS date
    AS 'MODULE_PATHNAME', 'parse_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ta.parse_date(text) IS 'YYYY-MM-DD (years 1900-2999) or NULL.';

CREATE FUNCTION ta.parse_time(value text) RETURNS time
    AS 'MODULE_PATHNAME', 'parse_time' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ta.parse_time(text) IS 'HH:MM or HH:MM:SS or NULL.';

CREATE FUNCTION ta.parse_money(value text) RETURNS numeric
    AS 'MODULE_PATHNAME', 'parse_money' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ta.parse_money(text) IS
    'A decimal with at most 8 integer digits and 2 decimals, no exponent, or NULL.';

-- The audit queue (extension/audit_defer.c): with shared_preload_libraries = 'therapyassistance',
-- a read's audit row can leave the read's transaction (see ta.audit in audit.sql).
CREATE FUNCTION ta.audit_defer(practice bigint, uid bigint, action text, route text, patient_ids bigint[],
                               client_addr inet, at timestamptz) RETURNS boolean
    AS 'MODULE_PATHNAME', 'audit_defer' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ta.audit_defer(bigint, bigint, text, text, bigint[], inet, timestamptz) IS
    'Keeps a read''s audit entry for the audit writer, queued at commit; false: write the row now.';

CREATE FUNCTION ta.audit_take_pending(practice bigint)
    RETURNS TABLE (practice_id bigint, user_id bigint, action text, route text, patient_ids bigint[],
                   client_addr inet, at timestamptz)
    AS 'MODULE_PATHNAME', 'audit_take_pending' LANGUAGE C VOLATILE STRICT ROWS 1;
COMMENT ON FUNCTION ta.audit_take_pending(bigint) IS
    'This transaction''s deferred audit entries of the practice, for it to append itself (then not queued).';

CREATE FUNCTION ta.audit_flush() RETURNS void
    AS 'MODULE_PATHNAME', 'audit_flush' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ta.audit_flush() IS
    'Waits until every audit entry queued in this database before the call is in ta.audit_log.';

-- json_agg for composite rows (extension/json_rows.c): the same text, with each column's JSON
-- category and output function looked up once per list instead of per column of every row.
CREATE FUNCTION ta.json_rows_transfn(state internal, element anycompatible) RETURNS internal
    AS 'MODULE_PATHNAME', 'json_rows_transfn' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ta.json_rows_transfn(internal, anycompatible) IS 'ta.json_rows: appends an element.';

CREATE FUNCTION ta.json_rows_finalfn(state internal) RETURNS json
    AS 'MODULE_PATHNAME', 'json_rows_finalfn' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ta.json_rows_finalfn(internal) IS 'ta.json_rows: the array.';

CREATE AGGREGATE ta.json_rows(anycompatible) (
    SFUNC = ta.json_rows_transfn, STYPE = internal, FINALFUNC = ta.json_rows_finalfn
);
COMMENT ON AGGREGATE ta.json_rows(anycompatible) IS 'json_agg of the elements, the same text (faster for rows).';

-- The insert trigger of ta.appointments (sql/reminders.sql, extension/reminder_plan.c): the
-- settings and the patient by primary key instead of PL/pgSQL's two queries (issue 17's 5 %).
CREATE FUNCTION ta.appointments_plan_reminders() RETURNS trigger
    AS 'MODULE_PATHNAME', 'appointments_plan_reminders' LANGUAGE C;
COMMENT ON FUNCTION ta.appointments_plan_reminders() IS
    'BEFORE INSERT on ta.appointments: the new appointment''s reminders on its own row (ta.reminder_plan''s rule).';
