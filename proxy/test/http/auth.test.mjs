// POST /auth/register and /auth/login, and what a bearer token must be for every protected route.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { Proxy, newPractice, expectError, signToken, decodeClaims } from './harness.mjs';

let proxy;
let who;
before(async () => {
  proxy = await Proxy.start();
  who = await newPractice(proxy, 'auth');
});
after(async () => { await proxy?.stop(); });

const email = () => `reg-${randomBytes(6).toString('hex')}@example.com`;

test('register answers {id, email, created_at}', async () => {
  const e = email();
  const r = await proxy.call('POST', '/auth/register', { body: { email: e, password: 'dlugiehaslo' } });
  assert.ok(r.status === 200 || r.status === 201, r.text);
  assert.equal(r.json.email, e);
  assert.equal(typeof r.json.id, 'number');
  assert.ok(!Number.isNaN(Date.parse(r.json.created_at)));
  assert.equal(r.json.password, undefined);
  assert.equal(r.json.password_hash, undefined);
});

test('register refuses a taken email, a bad email, a short password and missing fields', async () => {
  expectError(await proxy.call('POST', '/auth/register', { body: { email: who.email, password: 'dlugiehaslo' } }),
    400, 'Email już jest zarejestrowany');
  const bad = await proxy.call('POST', '/auth/register', { body: { email: 'not-an-email', password: 'dlugiehaslo' } });
  expectError(bad, 422);
  expectError(await proxy.call('POST', '/auth/register', { body: { email: email(), password: 'krotkie' } }), 422);
  expectError(await proxy.call('POST', '/auth/register', { body: { email: email() } }), 422);
  expectError(await proxy.call('POST', '/auth/register', { body: { password: 'dlugiehaslo' } }), 422);
  expectError(await proxy.call('POST', '/auth/register', { body: { email: 42, password: 'dlugiehaslo' } }), 422);
});

test('login accepts multipart, urlencoded and JSON (username or email)', async () => {
  const form = new FormData();
  form.set('username', who.email);
  form.set('password', who.password);
  const multipart = await proxy.call('POST', '/auth/login', { body: form });
  assert.equal(multipart.status, 200, multipart.text);
  assert.equal(multipart.json.token_type, 'bearer');

  const urlencoded = await proxy.call('POST', '/auth/login', {
    body: new URLSearchParams({ grant_type: '', username: who.email, password: who.password, scope: '' }),
  });
  assert.equal(urlencoded.status, 200, urlencoded.text);

  const byUsername = await proxy.call('POST', '/auth/login', { body: { username: who.email, password: who.password } });
  assert.equal(byUsername.status, 200, byUsername.text);
  const byEmail = await proxy.call('POST', '/auth/login/', { body: { email: who.email, password: who.password } });
  assert.equal(byEmail.status, 200, byEmail.text);
});

test('login refuses a wrong password or unknown user with 401 and WWW-Authenticate', async () => {
  for (const body of [
    new URLSearchParams({ username: who.email, password: 'zle-haslo' }),
    new URLSearchParams({ username: 'nikt-' + email(), password: who.password }),
    { username: who.email, password: '' },
  ]) {
    const r = await proxy.call('POST', '/auth/login', { body });
    expectError(r, 401, 'Nieprawidłowy email lub hasło');
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  }
});

test('login refuses malformed forms without reaching 500', async () => {
  const broken = await proxy.call('POST', '/auth/login', {
    body: '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\nabc',
    headers: { 'content-type': 'multipart/form-data; boundary=x' },
  });
  expectError(broken, 422);
  const noBoundary = await proxy.call('POST', '/auth/login', {
    body: 'username=a', headers: { 'content-type': 'multipart/form-data' },
  });
  expectError(noBoundary, 422);
  const badEscape = await proxy.call('POST', '/auth/login', {
    body: 'username=%zz&password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  expectError(badEscape, 422);
  const latin1 = await proxy.call('POST', '/auth/login', {
    body: Buffer.from('username=a%E9&password=x'), headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.ok([400, 422].includes(latin1.status), latin1.text);
  const missing = await proxy.call('POST', '/auth/login', { body: new URLSearchParams({ username: who.email }) });
  assert.ok([401, 422].includes(missing.status), missing.text);
  assert.equal(typeof missing.json.detail, 'string');
});

test('the database signs HS256 tokens with sub, pid, exp that JWT_SECRET verifies', async () => {
  const [head, body, sig] = who.token.split('.');
  assert.equal(JSON.parse(Buffer.from(head, 'base64url')).alg, 'HS256');
  const expected = createHmac('sha256', process.env.JWT_SECRET).update(`${head}.${body}`).digest('base64url');
  assert.equal(sig, expected, 'signature made with JWT_SECRET');
  const claims = decodeClaims(who.token);
  assert.equal(typeof claims.sub, 'string');
  assert.ok(claims.exp > Date.now() / 1000 + 3600);
  assert.equal(claims.email, who.email);
});

test('a token signed outside the database with JWT_SECRET is accepted', async () => {
  const claims = decodeClaims(who.token);
  const token = signToken({ ...claims, iat: Math.floor(Date.now() / 1000) });
  const r = await proxy.call('GET', '/patients', { token });
  assert.equal(r.status, 200, r.text);
});

test('no token: 401 Not authenticated with WWW-Authenticate on every protected route', async () => {
  for (const [method, path] of [
    ['GET', '/patients'], ['POST', '/patients'], ['GET', '/patients/1'], ['PUT', '/patients/1'],
    ['DELETE', '/patients/1'], ['GET', '/appointments'], ['POST', '/appointments'], ['GET', '/appointments/1'],
    ['PUT', '/appointments/1'], ['DELETE', '/appointments/1'], ['GET', '/session_notes'],
    ['GET', '/session_notes/'], ['POST', '/session_notes'], ['GET', '/session_notes/1'],
    ['GET', '/session_notes/note/1'], ['PUT', '/session_notes/note/1'], ['DELETE', '/session_notes/1'],
    ['GET', '/payments'], ['POST', '/payments/'], ['GET', '/payments/1'], ['PATCH', '/payments/1'],
    ['DELETE', '/payments/1'], ['GET', '/payments/patient/1/unpaid-appointments'],
    ['GET', '/payments/statistics/summary'],
  ]) {
    const body = ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined;
    const r = await proxy.call(method, path, { body });
    expectError(r, 401, 'Not authenticated');
    assert.equal(r.headers.get('www-authenticate'), 'Bearer', `${method} ${path}`);
  }
});

test('forged, tampered, expired and alg-none tokens: 401 Could not validate credentials', async () => {
  const claims = decodeClaims(who.token);
  const now = Math.floor(Date.now() / 1000);
  const [h, b, s] = who.token.split('.');
  const otherClaims = Buffer.from(JSON.stringify({ ...claims, pid: claims.pid + 1 })).toString('base64url');
  const cases = {
    garbage: 'not-a-token',
    empty_signature: `${h}.${b}.`,
    tampered_claims: `${h}.${otherClaims}.${s}`,
    wrong_key: signToken(claims, { key: 'x'.repeat(32) }),
    alg_none: signToken(claims, { alg: 'none' }),
    alg_none_with_sig: `${signToken(claims, { alg: 'none' })}${s}`,
    alg_HS512_same_key: signToken(claims, { alg: 'HS512' }),
    alg_HS384_same_key: signToken(claims, { alg: 'HS384' }),
    expired: signToken({ ...claims, exp: now - 10 }),
    no_exp: signToken({ sub: claims.sub, pid: claims.pid, email: claims.email }),
    exp_as_string: signToken({ ...claims, exp: String(now + 3600) }),
    no_sub: signToken({ pid: claims.pid, email: claims.email, exp: now + 3600 }),
    not_yet_valid: signToken({ ...claims, nbf: now + 3600 }),
    huge: 'a'.repeat(10000),
  };
  for (const [name, token] of Object.entries(cases)) {
    const r = await proxy.call('GET', '/patients', { token });
    expectError(r, 401, 'Could not validate credentials');
    assert.equal(r.headers.get('www-authenticate'), 'Bearer', name);
  }
  const basic = await proxy.call('GET', '/patients', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  expectError(basic, 401);
});

test('a valid signature for a user that does not exist is refused by the database', async () => {
  const token = signToken({ sub: '987654321', pid: 987654321, email: 'ghost@example.com',
    iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 });
  const r = await proxy.call('GET', '/patients', { token });
  expectError(r, 401);
  assert.equal(r.headers.get('www-authenticate'), 'Bearer');
});
