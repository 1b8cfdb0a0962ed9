// Operations: graceful SIGTERM, refusing a short secret, and (when the suite may restart PostgreSQL)
// reconnecting after a restart without failing requests that were not in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execSync } from 'node:child_process';
import { Proxy, newPractice } from './harness.mjs';

test('refuses to start with a JWT_SECRET shorter than 32 bytes, saying why', () => {
  const r = spawnSync(process.env.PROXY_BIN, [], {
    env: { DATABASE_URL: process.env.DATABASE_URL, JWT_SECRET: 'short', PROXY_ENV_FILE: '/dev/null', PORT: '1' },
    encoding: 'utf8', timeout: 5000,
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /JWT_SECRET/);
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
