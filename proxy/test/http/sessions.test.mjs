// Sessions that end (api-contract v2, Accounts): GET /auth/me, POST /auth/logout (this token answers 401 from then
// on), PUT /auth/password (every token issued before answers 401; the answer carries a fresh one). The database
// decides (ta.caller); the proxy's token cache must never let a refused token through, on any thread.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy, newPractice, expectError } from './harness.mjs';

let proxy;
before(async () => { proxy = await Proxy.start({ PROXY_THREADS: '4' }); });
after(async () => { await proxy?.stop(); });

const REFUSED = 'Could not validate credentials';
const login = async (email, password) =>
  (await proxy.call('POST', '/auth/login', { body: new URLSearchParams({ username: email, password }) }));

// Enough parallel requests with one token that every server thread has seen (and cached) it.
async function everyThread(token, path = '/patients') {
  return Promise.all(Array.from({ length: 24 }, () => proxy.call('GET', path, { token })));
}

test('GET /auth/me answers the caller\'s {id, email, created_at}', async () => {
  const who = await newPractice(proxy, 'me');
  const r = await proxy.call('GET', '/auth/me', { token: who.token });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, who.user);
  expectError(await proxy.call('GET', '/auth/me'), 401, 'Not authenticated');
});

test('POST /auth/logout ends this token on every thread, cached or not; the user\'s other tokens live', async () => {
  const who = await newPractice(proxy, 'logout');
  const other = (await login(who.email, who.password)).json.access_token;
  for (const r of await everyThread(who.token)) assert.equal(r.status, 200, r.text);
  const out = await proxy.call('POST', '/auth/logout', { token: who.token });
  assert.equal(out.status, 200, out.text);
  assert.equal(typeof out.json.detail, 'string');
  for (const r of [...await everyThread(who.token), ...await everyThread(who.token, '/auth/me')]) {
    expectError(r, 401, REFUSED);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  }
  expectError(await proxy.call('POST', '/auth/logout', { token: who.token }), 401, REFUSED);
  expectError(await proxy.call('POST', '/patients', { token: who.token, body: { name: 'Po wylogowaniu' } }), 401);
  for (const r of await everyThread(other)) assert.equal(r.status, 200, r.text);
});

test('PUT /auth/password ends every earlier token and answers a fresh one', async () => {
  const who = await newPractice(proxy, 'password');
  const second = (await login(who.email, who.password)).json.access_token;
  for (const t of [who.token, second]) for (const r of await everyThread(t)) assert.equal(r.status, 200);
  const put = (token, body) => proxy.call('PUT', '/auth/password', { token, body });
  expectError(await put(who.token, { current_password: 'zle-haslo', new_password: 'nowe-haslo-123' }), 400,
    'Nieprawidłowe obecne hasło');
  expectError(await put(who.token, { current_password: who.password, new_password: 'krotkie' }), 422);
  expectError(await put(who.token, { current_password: who.password }), 422);
  expectError(await put(who.token, { new_password: 'nowe-haslo-123' }), 422);
  expectError(await put(undefined, { current_password: who.password, new_password: 'nowe-haslo-123' }), 401);
  // Nothing changed so far: both tokens still work.
  assert.equal((await proxy.call('GET', '/auth/me', { token: second })).status, 200);

  const changed = await put(who.token, { current_password: who.password, new_password: 'nowe-haslo-123' });
  assert.equal(changed.status, 200, changed.text);
  assert.equal(changed.json.token_type, 'bearer');
  const fresh = changed.json.access_token;
  for (const t of [who.token, second]) {
    for (const r of await everyThread(t)) expectError(r, 401, REFUSED);
  }
  for (const r of await everyThread(fresh, '/auth/me')) assert.equal(r.status, 200, r.text);
  expectError(await login(who.email, who.password), 401);
  assert.equal((await login(who.email, 'nowe-haslo-123')).status, 200);
});
