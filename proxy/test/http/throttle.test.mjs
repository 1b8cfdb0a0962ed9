// Login throttling over HTTP: 10 failed logins in 15 minutes, per account or per client address, answer 429
// with Retry-After; an unknown email is counted and answered exactly like a wrong password. The count lives in
// the database, so every proxy in front of it shares it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { Proxy, newPractice, expectError, randomAddress } from './harness.mjs';

let proxy;
let second;
before(async () => {
  proxy = await Proxy.start();
  second = await Proxy.start();
});
after(async () => {
  await proxy?.stop();
  await second?.stop();
});

const WRONG = 'Nieprawidłowy email lub hasło';
const login = (username, password, from = randomAddress(), via = proxy) =>
  via.call('POST', '/auth/login', { body: new URLSearchParams({ username, password }),
    headers: { 'x-real-ip': from } });
const unknown = () => `nikt-${randomBytes(6).toString('hex')}@example.com`;

function expectThrottled(r) {
  expectError(r, 429);
  assert.match(r.json.detail, /^Zbyt wiele nieudanych prób logowania/);
  const wait = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(wait) && wait > 0 && wait <= 900, `Retry-After: ${r.headers.get('retry-after')}`);
}

test('an unknown email is answered exactly like a wrong password', async () => {
  const who = await newPractice(proxy, 'throttle-same');
  const wrong = await login(who.email, 'zle-haslo');
  const nobody = await login(unknown(), 'zle-haslo');
  for (const r of [wrong, nobody]) {
    expectError(r, 401, WRONG);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  }
  assert.equal(wrong.text, nobody.text);
  assert.deepEqual([...wrong.headers.keys()].sort(), [...nobody.headers.keys()].sort());
});

test('ten failures of one account, from anywhere and through any proxy, lock it for 15 minutes', async () => {
  const who = await newPractice(proxy, 'throttle-account');
  for (let i = 1; i <= 10; i++) {
    // Every attempt from another address, half of them through another proxy: the account's count is shared.
    expectError(await login(who.email.toUpperCase(), `zle-haslo-${i}`, randomAddress(), i % 2 ? proxy : second),
      401, WRONG);
  }
  // The 11th is refused before the password is looked at: the right one too, from a fresh address.
  expectThrottled(await login(who.email, who.password));
  expectThrottled(await login(who.email, who.password, randomAddress(), second));
});

test('an unknown email is counted like a known one', async () => {
  const nobody = unknown();
  for (let i = 1; i <= 10; i++) expectError(await login(nobody, 'zle-haslo'), 401, WRONG);
  expectThrottled(await login(nobody, 'zle-haslo'));
});

test('ten failures from one address lock that address out, for every account; other addresses may log in',
  async () => {
    const who = await newPractice(proxy, 'throttle-address');
    const from = randomAddress();
    for (let i = 1; i <= 10; i++) expectError(await login(unknown(), 'zle-haslo', from), 401, WRONG);
    expectThrottled(await login(who.email, who.password, from));
    expectThrottled(await login(unknown(), 'zle-haslo', from, second));
    const elsewhere = await login(who.email, who.password);
    assert.equal(elsewhere.status, 200, elsewhere.text);
  });

// POST /auth/login from localAddress (a loopback address that is not a trusted proxy) with a spoofed X-Real-IP.
function loginFrom(localAddress, spoofed) {
  const body = new URLSearchParams({ username: unknown(), password: 'zle-haslo' }).toString();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, path: '/auth/login', method: 'POST',
      localAddress, agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded',
        'content-length': Buffer.byteLength(body), 'x-real-ip': spoofed, 'x-forwarded-for': spoofed,
        connection: 'close' } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a client that is not a trusted proxy cannot escape the count by sending X-Real-IP', async () => {
  const [x, y, z] = randomBytes(3);
  const peer = `127.${1 + (x % 200)}.${y}.${1 + (z % 250)}`;
  const statuses = [];
  for (let i = 1; i <= 11; i++) statuses.push(await loginFrom(peer, randomAddress()));
  assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
});
