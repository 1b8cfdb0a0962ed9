-- HS256 tokens: signed in the database, verified in the database (and by libjwt in the
-- proxy). Anything that is not a valid, unexpired HS256 token is NULL, never an error.
\set secret '''regress-jwt-secret-0123456789abcdef-xyz'''

-- A fixed vector, computed independently with:
--   printf '%s' "$h.$p" | openssl dgst -sha256 -hmac "$secret" -binary | base64 | tr '+/' '-_' | tr -d =
SELECT ta.jwt_sign('{"sub":"1","exp":4102444800}', :secret) AS token;

-- Round trip, with a live exp.
SELECT ta.jwt_verify(ta.jwt_sign(json_build_object('sub', '7', 'pid', 3,
                                                   'exp', extract(epoch FROM now())::bigint + 60), :secret),
                     :secret)::jsonb - 'exp' AS claims;

-- Refused: wrong secret, tampered payload, expired, exp missing / a string / null, alg none,
-- other algorithms, truncated, extra parts, garbage, non-base64, empty, huge, padding.
WITH t(name, token) AS (VALUES
    ('wrong secret', ta.jwt_sign('{"exp":4102444800}', 'another-secret-0123456789abcdef-0123')),
    ('tampered payload', 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.' || regress.b64url('{"sub":"2","exp":4102444800}')
                         || '.' || split_part(ta.jwt_sign('{"sub":"1","exp":4102444800}', :secret), '.', 3)),
    ('expired', ta.jwt_sign('{"sub":"1","exp":1000000000}', :secret)),
    ('exp missing', ta.jwt_sign('{"sub":"1"}', :secret)),
    ('exp string', ta.jwt_sign('{"sub":"1","exp":"4102444800"}', :secret)),
    ('exp null', ta.jwt_sign('{"sub":"1","exp":null}', :secret)),
    ('exp twice', ta.jwt_sign('{"exp":4102444800,"exp":4102444800}', :secret)),
    ('exp nested', ta.jwt_sign('{"a":{"exp":4102444800}}', :secret)),
    ('claims not an object', ta.jwt_sign('[4102444800]', :secret)),
    ('alg none', 'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwiZXhwIjo0MTAyNDQ0ODAwfQ.'),
    ('alg none signed', regexp_replace(ta.jwt_sign('{"sub":"1","exp":4102444800}', :secret), '^[^.]+',
                                       'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0')),
    ('alg HS512 header', regexp_replace(ta.jwt_sign('{"sub":"1","exp":4102444800}', :secret), '^[^.]+',
                                        'eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9')),
    ('alg RS256 header', regexp_replace(ta.jwt_sign('{"sub":"1","exp":4102444800}', :secret), '^[^.]+',
                                        'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9')),
    ('truncated', left(ta.jwt_sign('{"sub":"1","exp":4102444800}', :secret), 60)),
    ('signature cut', left(ta.jwt_sign('{"sub":"1","exp":4102444800}', :secret), -2)),
    ('four parts', ta.jwt_sign('{"sub":"1","exp":4102444800}', :secret) || '.x'),
    ('two parts', 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjR9'),
    ('garbage', 'not a token at all'),
    ('non-base64', '!!!.???.***'),
    ('base64 padding', ta.jwt_sign('{"sub":"1","exp":4102444800}', :secret) || '='),
    ('empty', ''),
    ('dots only', '..'),
    ('100 kB', repeat('a', 100000) || '.' || repeat('b', 100000) || '.' || repeat('c', 43)),
    ('deep nesting', 'eyJhbGciOiJIUzI1NiJ9.' || repeat('W', 8000) || '.AAAA'),
    ('sql in token', 'x''; DROP TABLE ta.users; --')
)
SELECT name, ta.jwt_verify(token, :secret) IS NULL AS refused FROM t;

-- Correctly signed, but the header is not HS256: refused; a reordered HS256 header is fine.
WITH t(name, header) AS (VALUES
    ('HS256, other order', '{"typ":"JWT","alg":"HS256"}'),
    ('HS256, no typ', '{"alg":"HS256"}'),
    ('HS256, escaped', '{"alg":"HS\u0032\u00356"}'),
    ('alg none', '{"alg":"none","typ":"JWT"}'),
    ('alg HS512', '{"alg":"HS512","typ":"JWT"}'),
    ('alg RS256', '{"alg":"RS256","typ":"JWT"}'),
    ('alg lower case', '{"alg":"hs256"}'),
    ('alg missing', '{"typ":"JWT"}'),
    ('alg twice', '{"alg":"HS256","alg":"none"}'),
    ('alg a number', '{"alg":256}'),
    ('alg in an array', '{"alg":["HS256"]}'),
    ('header an array', '["HS256"]'),
    ('header not JSON', 'alg=HS256'),
    ('header with NUL', '{"alg":"HS256\u0000"}')
)
SELECT name, ta.jwt_verify(regress.forge(header, '{"sub":"1","exp":4102444800}', :secret), :secret) IS NULL AS refused
  FROM t;
SELECT ta.jwt_verify(regress.forge('{"alg":"HS256"}', '{"sub":"1","exp":4102444800,"x":"\u0000"}', :secret), :secret) IS NULL AS nul_in_claims_refused;
SELECT ta.jwt_verify(regress.forge('{"alg":"HS256"}', '{"exp":4102444800,"n":' || repeat('[', 40) || repeat(']', 40) || '}', :secret), :secret) IS NULL AS deep_claims_refused;
SELECT ta.jwt_verify(regress.forge('{"alg":"HS256"}', '{"sub":"1","exp":4102444800.5}', :secret), :secret) ->> 'sub' AS fractional_exp_ok;

-- A short secret is a configuration error, not an invalid token.
\set SHOW_CONTEXT never
SELECT ta.jwt_sign('{"exp":4102444800}', 'too-short');
SELECT ta.jwt_verify('a.b.c', 'too-short');
