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
