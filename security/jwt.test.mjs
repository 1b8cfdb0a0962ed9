// JWT attacks: every forged, confused, malformed or stale token answers 401 "Could not validate credentials"
// (a token too big for the 64 KiB header limit is refused 431 before any token code runs), on every protected
// route; the database's own verifier (ta.jwt_verify) refuses the same tokens; a burst of hostile tokens neither
// crashes the proxy (it exits 0 with no sanitizer report) nor keeps /health from answering within a second.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSign, generateKeyPairSync, createHmac } from 'node:crypto';
import { Proxy, newPractice, decodeClaims, signToken, expectError } from '../proxy/test/http/harness.mjs';
import { superSql } from './db.mjs';
import { rawStatus, healthWithin } from './net.mjs';

const SECRET = process.env.JWT_SECRET;
const b64 = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

let proxy;
let who;
let claims;
before(async () => {
  proxy = await Proxy.start();
  who = await newPractice(proxy, 'jwt');
  claims = decodeClaims(who.token);
});
after(async () => { await proxy?.stop(); });

// A token with any header and payload, HMAC-signed with key under the given hash (what a forger can make).
function hmacToken(header, payload, key = SECRET, hash = 'sha256') {
  const signing = `${b64(header)}.${b64(payload)}`;
  return `${signing}.${createHmac(hash, key).update(signing).digest('base64url')}`;
}

// The attack list: name -> token. Built per test so that exp values are fresh.
function attacks() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  const rs256 = (() => {
    const signing = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}`;
    return `${signing}.${createSign('RSA-SHA256').update(signing).sign(privateKey).toString('base64url')}`;
  })();
  const [h, p, s] = who.token.split('.');
  const tokens = {
    alg_none: signToken(claims, { alg: 'none' }),
    alg_None: `${b64({ alg: 'None', typ: 'JWT' })}.${b64(claims)}.`,
    alg_NONE_with_valid_signature: `${b64({ alg: 'NONE' })}.${p}.${s}`,
    alg_none_header_on_real_token: `${b64({ alg: 'none', typ: 'JWT' })}.${p}.${s}`,
    alg_HS512: signToken(claims, { alg: 'HS512' }),
    alg_HS384: signToken(claims, { alg: 'HS384' }),
    alg_HS512_header_HS256_signature: hmacToken({ alg: 'HS512', typ: 'JWT' }, claims),
    alg_RS256_real_signature: rs256,
    alg_RS256_header_hmac_with_secret: hmacToken({ alg: 'RS256', typ: 'JWT' }, claims),
    public_key_as_hmac_secret: hmacToken({ alg: 'HS256', typ: 'JWT' }, claims, pem),
    public_key_as_hmac_secret_rs256_header: hmacToken({ alg: 'RS256', typ: 'JWT' }, claims, pem),
    alg_lowercase: hmacToken({ alg: 'hs256', typ: 'JWT' }, claims),
    alg_missing: hmacToken({ typ: 'JWT' }, claims),
    alg_not_a_string: hmacToken({ alg: ['HS256'] }, claims),
    header_not_json: `${b64('HS256')}.${p}.${s}`,
    expired: signToken({ ...claims, exp: now() - 1 }),
    expired_long_ago: signToken({ ...claims, exp: 1 }),
    exp_missing: signToken({ sub: claims.sub, pid: claims.pid, email: claims.email, iat: now() }),
    exp_as_string: signToken({ ...claims, exp: String(now() + 3600) }),
    exp_null: signToken({ ...claims, exp: null }),
    exp_object: signToken({ ...claims, exp: { n: now() + 3600 } }),
    exp_nan_text: hmacToken({ alg: 'HS256', typ: 'JWT' }, `{"sub":"${claims.sub}","pid":${claims.pid},"exp":NaN}`),
    exp_huge: hmacToken({ alg: 'HS256', typ: 'JWT' }, `{"sub":"${claims.sub}","pid":${claims.pid},"exp":1e400}`),
    payload_not_json: hmacToken({ alg: 'HS256', typ: 'JWT' }, 'not json'),
    payload_array: hmacToken({ alg: 'HS256', typ: 'JWT' }, [claims]),
    wrong_signature: `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`,
    signature_of_other_token: `${h}.${b64({ ...claims, pid: claims.pid + 1 })}.${s}`,
    wrong_key: signToken(claims, { key: 'k'.repeat(32) }),
    secret_with_newline: signToken(claims, { key: `${SECRET}\n` }),
    empty_signature: `${h}.${p}.`,
    two_parts: `${h}.${p}`,
    four_parts: `${who.token}.${s}`,
    empty: '',
    dots_only: '..',
    non_base64_header: `${h.replace(/.$/, '!')}.${p}.${s}`,
    non_base64_payload: `${h}.${p.slice(0, 10)}*${p.slice(11)}.${s}`,
    non_base64_signature: `${h}.${p}.${s.slice(0, 20)}$${s.slice(21)}`,
    standard_base64_with_padding: `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64')}.${s}`,
    signature_with_padding: `${who.token}==`,
    // Raw UTF-8 bytes on the wire (fetch sends header characters below 256 as single bytes).
    utf8_in_token: `${h}.${p}.${s.slice(0, 10)}${Buffer.from('żółw').toString('latin1')}${s.slice(14)}`,
    token_4kB: hmacToken({ alg: 'HS256', typ: 'JWT' }, { ...claims, pad: 'x'.repeat(4000) }),
    token_60kB_garbage: 'A'.repeat(60 * 1024),
    token_60kB_signed: hmacToken({ alg: 'HS256', typ: 'JWT' }, { ...claims, pad: 'x'.repeat(44 * 1024) }),
  };
  for (let len = 1; len < who.token.length; len += 1) tokens[`truncated_${len}`] = who.token.slice(0, len);
  return tokens;
}

test('every attack token answers 401 Could not validate credentials with WWW-Authenticate', async () => {
  const tokens = attacks();
  assert.equal((await proxy.call('GET', '/patients', { token: who.token })).status, 200, 'the real token works');
  for (const [name, token] of Object.entries(tokens)) {
    const r = await proxy.call('GET', '/patients', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 401, `${name}: ${r.status} ${r.text}`);
    assert.equal(r.json.detail, token === '' ? 'Not authenticated' : 'Could not validate credentials', name);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer', name);
  }
});

test('tokens with control characters or NUL bytes are refused with 400 or 401', async () => {
  const [h, p, s] = who.token.split('.');
  for (const junk of ['\x01\x7f', '\x00', '\x1b[31m', '\x00\x00\x00\x00', '\xff\xfe']) {
    // libmicrohttpd ends a header value at a NUL byte, so a complete valid token followed by NUL and bytes is
    // read as that token (nothing is gained: the token before it is already valid); not tested here.
    const after = junk.includes('\x00') ? [] : [`${who.token}${junk}`];
    for (const token of [`${h}.${p}.${junk}${s}`, `${junk}${who.token}`, ...after]) {
      const status = await rawStatus(proxy.port, Buffer.concat([Buffer.from('GET /patients HTTP/1.1\r\nHost: x\r\n' +
        'Authorization: Bearer '), Buffer.from(token, 'latin1'), Buffer.from('\r\nConnection: close\r\n\r\n')]));
      assert.ok([400, 401].includes(status), `${JSON.stringify(token)}: ${status}`);
    }
  }
});

test('tokens beyond the 64 KiB header limit are refused before they are read: 431', async () => {
  for (const size of [100 * 1024, 1024 * 1024]) {
    const r = await proxy.call('GET', '/patients', { headers: { authorization: `Bearer ${'e'.repeat(size)}` } });
    assert.equal(r.status, 431, `${size}: ${r.status}`);
  }
});

test('the attack tokens fail on every protected route, whatever the method', async () => {
  const sample = Object.entries(attacks()).filter(([name]) => !name.startsWith('truncated_') || name.endsWith('0'));
  const routes = [['GET', '/patients/1'], ['PUT', '/patients/1'], ['DELETE', '/appointments/1'],
    ['POST', '/session_notes'], ['PATCH', '/payments/1'], ['GET', '/payments/statistics/summary'],
    ['GET', '/payments/patient/1/unpaid-appointments']];
  for (const [method, path] of routes) {
    for (const [name, token] of sample) {
      if (token === '') continue;
      const body = ['POST', 'PUT', 'PATCH'].includes(method) ? { name: 'x', content: 'x', amount: 1 } : undefined;
      const r = await proxy.call(method, path, { token, body });
      assert.equal(r.status, 401, `${method} ${path} ${name}: ${r.status} ${r.text}`);
      assert.equal(r.json.detail, 'Could not validate credentials');
      assert.equal(r.headers.get('www-authenticate'), 'Bearer', `${method} ${path} ${name}`);
    }
  }
});

test("the database's verifier refuses the same tokens and accepts the real one", () => {
  // Tokens refused only for their size by the proxy (4 KiB) are left out: the database allows 8 KiB.
  const list = Object.entries(attacks()).filter(([name]) => !name.startsWith('token_'));
  const sql = list.map(([name], i) => `select '${name}', ta.jwt_verify(:'t${i}', (select jwt_secret from ta.settings)) is null;`)
    .join('\n') + "\nselect 'real', ta.jwt_verify(:'real', (select jwt_secret from ta.settings)) is null;";
  const vars = Object.fromEntries(list.map(([, t], i) => [`t${i}`, t]));
  vars.real = who.token;
  const rows = superSql(sql, vars).split('\n').map((line) => line.split('|'));
  assert.equal(rows.length, list.length + 1);
  for (const [name, refused] of rows) assert.equal(refused, name === 'real' ? 'f' : 't', name);
});

test('a valid token of a user that no longer exists, or is archived, answers 401', async () => {
  const ghost = await newPractice(proxy, 'ghost');
  const archived = await newPractice(proxy, 'archived');
  assert.equal((await proxy.call('GET', '/patients', { token: ghost.token })).status, 200);
  superSql(`delete from ta.users where id = ${Number(decodeClaims(ghost.token).sub)}`);
  superSql(`update ta.users set deleted_at = now() where id = ${Number(decodeClaims(archived.token).sub)}`);
  for (const token of [ghost.token, archived.token]) {
    for (const [method, path, body] of [['GET', '/patients'], ['POST', '/patients', { name: 'duch' }],
      ['GET', '/payments/statistics/summary'], ['GET', '/appointments/1']]) {
      const r = await proxy.call(method, path, { token, body });
      expectError(r, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    }
  }
  // And nothing was written for the ghost.
  const pid = Number(decodeClaims(ghost.token).pid);
  assert.equal(superSql(`select count(*) from ta.patients where practice_id = ${pid}`), '0');
});

test('a burst of hostile tokens does not keep /health from answering within a second', async () => {
  const tokens = Object.values(attacks());
  const big = 'A'.repeat(60 * 1024);
  // 200 at once: under the per-IP connection cap (256), which would otherwise refuse the probe by design.
  const burst = Promise.all(Array.from({ length: 200 }, (_, i) =>
    proxy.call('GET', '/patients', { token: i % 3 === 0 ? big : tokens[i % tokens.length] || 'x' })));
  assert.equal(await healthWithin(proxy.port, 1000), 200);
  const results = await burst;
  assert.deepEqual([...new Set(results.map((r) => r.status))], [401]);
  assert.equal(await healthWithin(proxy.port, 1000), 200);
});
