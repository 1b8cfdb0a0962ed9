// Login throttling over HTTP, which must not lock the owner out: 10 failed logins in 15 minutes of one account
// from one address, 100 from one address, or 100 of one account from addresses it never logged in from, answer
// 429 with Retry-After; an unknown email is counted and answered exactly like a wrong password; registrations
// are limited to 20 per address per hour. The counts live in the database, so every proxy in front of it shares
// them.
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

test('ten failures of one account from one address refuse it to that address only, through any proxy',
  async () => {
    const who = await newPractice(proxy, 'throttle-account');
    const from = randomAddress();
    for (let i = 1; i <= 10; i++) {
      // Half of them through another proxy: the count lives in the database.
      expectError(await login(who.email.toUpperCase(), `zle-haslo-${i}`, from, i % 2 ? proxy : second), 401, WRONG);
    }
    // The 11th from that address is refused before the password is looked at: the right one too.
    expectThrottled(await login(who.email, who.password, from));
    expectThrottled(await login(who.email, who.password, from, second));
    // The owner, from an address that took no part in the guessing, logs in; the guessing address may still
    // log into another account (a colleague in the same office).
    const owner = await login(who.email, who.password);
    assert.equal(owner.status, 200, owner.text);
    const colleague = await newPractice(proxy, 'throttle-colleague');
    const office = await login(colleague.email, colleague.password, from);
    assert.equal(office.status, 200, office.text);
    // The owner's login did not clear the guesser's count.
    expectThrottled(await login(who.email, who.password, from));
  });

test('an unknown email is counted like a known one', async () => {
  const nobody = unknown();
  const from = randomAddress();
  for (let i = 1; i <= 10; i++) expectError(await login(nobody, 'zle-haslo', from), 401, WRONG);
  expectThrottled(await login(nobody, 'zle-haslo', from));
});

test('one address is refused every account only after 100 failures; other addresses may log in', async () => {
  const who = await newPractice(proxy, 'throttle-address');
  const from = randomAddress();
  for (let i = 1; i <= 99; i++) expectError(await login(unknown(), 'zle-haslo', from, i % 2 ? proxy : second), 401, WRONG);
  const ninetyNine = await login(who.email, who.password, from);
  assert.equal(ninetyNine.status, 200, `after 99 failures: ${ninetyNine.text}`);
  expectError(await login(unknown(), 'zle-haslo', from), 401, WRONG);
  expectThrottled(await login(who.email, who.password, from));
  expectThrottled(await login(unknown(), 'zle-haslo', from, second));
  const elsewhere = await login(who.email, who.password);
  assert.equal(elsewhere.status, 200, elsewhere.text);
});

test('an account guessed at from 100 addresses is refused to new addresses, never to one it logged in from',
  async () => {
    const who = await newPractice(proxy, 'throttle-botnet');
    const home = randomAddress();
    assert.equal((await login(who.email, who.password, home)).status, 200);
    for (let i = 1; i <= 100; i++) expectError(await login(who.email, `zle-${i}`, randomAddress()), 401, WRONG);
    expectThrottled(await login(who.email, who.password, randomAddress()));
    const fromHome = await login(who.email, who.password, home, second);
    assert.equal(fromHome.status, 200, fromHome.text);
  });

test('register: 20 per address per hour, then 429 with Retry-After; another address may register', async () => {
  const from = randomAddress();
  const register = (via = proxy, addr = from) => via.call('POST', '/auth/register', {
    body: { email: unknown(), password: 'dlugiehaslo' }, headers: { 'x-real-ip': addr } });
  for (let i = 1; i <= 20; i++) {
    const r = await register(i % 2 ? proxy : second);
    assert.ok(r.status === 200 || r.status === 201, `registration ${i}: ${r.text}`);
  }
  const refused = await register();
  expectError(refused, 429);
  assert.match(refused.json.detail, /^Zbyt wiele rejestracji/);
  const wait = Number(refused.headers.get('retry-after'));
  assert.ok(Number.isInteger(wait) && wait > 3500 && wait <= 3600, `Retry-After: ${refused.headers.get('retry-after')}`);
  const other = await register(proxy, randomAddress());
  assert.ok(other.status === 200 || other.status === 201, other.text);
});

test('a username or e-mail over 254 bytes answers 422 before any work, never 500', async () => {
  for (const n of [255, 3000, 100000]) {
    const long = `${'a'.repeat(n - 12)}@example.com`;
    expectError(await login(long, 'zle-haslo'), 422);
    expectError(await proxy.call('POST', '/auth/register', { body: { email: long, password: 'dlugiehaslo' } }), 422);
  }
});

// POST /auth/login from localAddress (a loopback address that is not a trusted proxy) with a spoofed X-Real-IP.
function loginFrom(localAddress, spoofed, username = unknown()) {
  const body = new URLSearchParams({ username, password: 'zle-haslo' }).toString();
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
  const account = unknown();
  const statuses = [];
  // One account from one peer: were the spoofed addresses believed, each guess would come from a fresh address.
  for (let i = 1; i <= 11; i++) statuses.push(await loginFrom(peer, randomAddress(), account));
  assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
});
