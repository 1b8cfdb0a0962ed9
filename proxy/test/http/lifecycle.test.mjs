// Operations: graceful SIGTERM, refusing a short secret, and (when the suite may restart PostgreSQL)
// reconnecting after a restart without failing requests that were not in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execSync } from 'node:child_process';
import net from 'node:net';
import { Proxy, newPractice } from './harness.mjs';

test('refuses to start with a JWT_SECRET shorter than 32 bytes, saying why', () => {
  const r = spawnSync(process.env.PROXY_BIN, [], {
    env: { DATABASE_URL: process.env.DATABASE_URL, JWT_SECRET: 'short', PROXY_ENV_FILE: '/dev/null', PORT: '1' },
    encoding: 'utf8', timeout: 5000,
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /JWT_SECRET/);
});

test('without a database: /health 503 with a reason, API calls 503, no database text', async () => {
  const proxy = await Proxy.start({ DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/nothing' },
    { expectHealthy: false });
  try {
    const health = await proxy.call('GET', '/health');
    assert.equal(health.status, 503);
    assert.equal(health.json.status, 'unhealthy');
    assert.equal(typeof health.json.detail, 'string');
    const login = await proxy.call('POST', '/auth/login', { body: { username: 'a@b.pl', password: 'x' } });
    assert.equal(login.status, 503);
    assert.doesNotMatch(login.text, /127\.0\.0\.1|nobody|refused/);
    // Routing, limits and tokens still answer without the database.
    assert.equal((await proxy.call('GET', '/patients')).status, 401);
    assert.equal((await proxy.call('GET', '/')).status, 200);
  } finally {
    await proxy.stop();
  }
});

// Opens a connection and resolves once it is established.
const connect = (port) => new Promise((resolve, reject) => {
  const sock = net.connect(port, '127.0.0.1', () => resolve(sock));
  sock.on('error', reject);
});

// Sends one request on sock and resolves with the first bytes of the answer, or '' when the connection closes
// unanswered (or nothing comes within 3 s). keepAlive leaves the connection open afterwards.
const exchange = (sock, { keepAlive = false } = {}) => new Promise((resolve) => {
  const timer = setTimeout(() => resolve(''), 3000);
  sock.once('data', (d) => { clearTimeout(timer); resolve(String(d)); });
  sock.once('close', () => { clearTimeout(timer); resolve(''); });
  sock.on('error', () => {});
  sock.write(`GET /health HTTP/1.1\r\nHost: x\r\n${keepAlive ? '' : 'Connection: close\r\n'}\r\n`);
});

test('connections beyond the per-IP cap are refused, the others keep working', async () => {
  const proxy = await Proxy.start({ PROXY_MAX_CONNECTIONS_PER_IP: '3' });
  const held = [];
  try {
    // An answered request proves the server has accepted (and counts) the connection.
    for (let i = 0; i < 3; i++) {
      held.push(await connect(proxy.port));
      assert.match(await exchange(held[i], { keepAlive: true }), /^HTTP\/1\.1 200/);
    }
    const extra = await connect(proxy.port);
    assert.equal(await exchange(extra), '', 'the fourth connection from 127.0.0.1 is closed unanswered');
    assert.match(await exchange(held[0], { keepAlive: true }), /^HTTP\/1\.1 200/);
    // A slot freed is a slot usable again.
    held.shift().destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.match(await exchange(await connect(proxy.port)), /^HTTP\/1\.1 200/);
  } finally {
    held.forEach((s) => s.destroy());
    await proxy.stop();
  }
});

test('SIGTERM lets requests in flight finish', async () => {
  const proxy = await Proxy.start();
  const who = await newPractice(proxy, 'sigterm');
  // Logins hash with bcrypt: slow enough to be in flight when the signal arrives.
  const body = () => new URLSearchParams({ username: who.email, password: who.password });
  const inFlight = Array.from({ length: 3 }, () => proxy.call('POST', '/auth/login', { body: body() }));
  await new Promise((r) => setTimeout(r, 15));
  const stopped = proxy.stop();
  const results = await Promise.all(inFlight);
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200]);
  await stopped;
  await assert.rejects(fetch(`${proxy.base}/health`));
});

// PG_RESTART_COMMAND restarts the database (e.g. pg_ctl restart); without it this test is skipped.
test('reconnects after PostgreSQL restarts', { skip: !process.env.PG_RESTART_COMMAND && 'PG_RESTART_COMMAND not set' },
  async () => {
    const proxy = await Proxy.start();
    try {
      const { token } = await newPractice(proxy, 'restart');
      for (let i = 0; i < 8; i++) assert.equal((await proxy.call('GET', '/patients', { token })).status, 200);
      execSync(process.env.PG_RESTART_COMMAND, { stdio: 'ignore' });
      // Nothing was in flight, so nothing fails: every pooled connection is replaced before use.
      const after = await Promise.all(Array.from({ length: 16 }, () => proxy.call('GET', '/patients', { token })));
      assert.deepEqual([...new Set(after.map((r) => r.status))], [200]);
      assert.equal((await proxy.call('GET', '/health')).status, 200);
    } finally {
      await proxy.stop();
    }
  });
