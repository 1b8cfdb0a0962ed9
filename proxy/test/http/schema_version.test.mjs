// The schema-version gate (api-contract.md, "Health and schema version"): the proxy needs the schema version of
// therapyassistance.control; on an older schema (api.schema_version() absent, as in 1.0, or answering an older
// version) GET /health and every other route answer 503 naming both versions and the upgrade command; on the
// current one /health answers {"status": "healthy", "schema_version"} and the api works. Runs against a throwaway
// database of the stack's cluster, installed here and changed as its superuser (PGHOST/PGPORT, DB_OWNER).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Proxy, newPractice, signToken } from './harness.mjs';

const REQUIRED = readFileSync(new URL('../../../therapyassistance.control', import.meta.url), 'utf8')
  .match(/^default_version\s*=\s*'([0-9.]+)'/m)[1];
const DB = `ta_schema_gate_${randomBytes(4).toString('hex')}`;
const OWNER = process.env.DB_OWNER ?? 'ta_owner';
const APP = new URL(process.env.DATABASE_URL).searchParams.get('user') ?? 'ta_app';

function psql(sql, { db = DB, user = 'postgres' } = {}) {
  return execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', user, '-d', db],
    { input: sql, encoding: 'utf8' }).trim();
}

// Numeric comparison of dotted versions, as the proxy makes it.
function older(a, b) {
  const x = a.split('.').map(Number), y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  }
  return false;
}
// A version older than REQUIRED: "1.1" → "1.0", "2.0" → "1.99", "1.0" → "0.99".
function below(v) {
  const parts = v.split('.').map(Number);
  const last = parts.length - 1;
  if (parts[last] > 0) { parts[last] -= 1; return parts.join('.'); }
  return [...parts.slice(0, last - 1), parts[last - 1] - 1, 99].join('.');
}

// api.schema_version() gone (the 1.0 schema), or answering version.
const dropVersion = () => psql(`DO $$ BEGIN
  IF to_regprocedure('api.schema_version()') IS NOT NULL THEN
    IF EXISTS (SELECT FROM pg_depend WHERE objid = 'api.schema_version()'::regprocedure AND deptype = 'e') THEN
      ALTER EXTENSION therapyassistance DROP FUNCTION api.schema_version();
    END IF;
    DROP FUNCTION api.schema_version();
  END IF; END $$`);
const setVersion = (version) => psql(`CREATE OR REPLACE FUNCTION api.schema_version() RETURNS text
  LANGUAGE sql STABLE AS $$ SELECT '${version}'::text $$;
  GRANT EXECUTE ON FUNCTION api.schema_version() TO ${APP}`);
// Ends the proxy's database connections, so that it opens (and checks) new ones.
const dropConnections = () => psql(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
  WHERE datname = '${DB}' AND pid <> pg_backend_pid()`, { db: 'postgres' });

// Polls /health until it answers status and, for a 503, names the schema (the proxy looks at an old schema
// again after a second; a request on a connection just terminated may answer a plain 503 first).
async function healthBecomes(proxy, status) {
  let r;
  for (const deadline = Date.now() + 10000; Date.now() < deadline;) {
    r = await proxy.call('GET', '/health');
    if (r.status === status && (status !== 503 || /schema .* is older/.test(r.json?.detail))) return r;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`/health never answered ${status}; last: ${r.status} ${r.text}`);
}

function expectOld(res, installed) {
  assert.equal(res.status, 503, res.text);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.match(res.json.detail, new RegExp(`schema ${installed.replaceAll('.', '\\.')} is older`));
  assert.ok(res.json.detail.includes(`(${REQUIRED})`), res.json.detail);
  assert.ok(res.json.detail.includes('make up') && res.json.detail.includes('deploy-mikrus.sh update') &&
    res.json.detail.includes('sql/fallback/upgrade.sql'), res.json.detail);
}

let proxy;
// Any well-signed token: an old schema is refused before the database is asked.
const token = signToken({ sub: '1', pid: 1, exp: Math.floor(Date.now() / 1000) + 600 });

before(() => {
  psql(`SET client_min_messages = warning; CREATE DATABASE ${DB} OWNER ${OWNER}`, { db: 'postgres' });
  psql('SET client_min_messages = warning; CREATE EXTENSION therapyassistance CASCADE', { user: OWNER });
  psql(`SELECT ta.configure('${process.env.JWT_SECRET}'); SELECT ta.grant_api('${APP}')`, { user: OWNER });
});
after(async () => {
  await proxy?.stop();
  psql(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`, { db: 'postgres' });
});

test('a schema without api.schema_version() is 1.0: 503 on /health and every route', async () => {
  dropVersion();
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/${DB}`;
  proxy = await Proxy.start({ DATABASE_URL: url.toString() }, { expectHealthy: false });
  assert.ok(older('1.0', REQUIRED), `the proxy needs ${REQUIRED}: a 1.0 schema must be refused`);
  const health = await proxy.call('GET', '/health');
  expectOld(health, '1.0');
  assert.equal(health.json.status, 'unhealthy');
  expectOld(await proxy.call('GET', '/patients', { token }), '1.0');
  expectOld(await proxy.call('GET', '/'), '1.0');
  expectOld(await proxy.call('POST', '/auth/login', { body: { username: 'a@b.pl', password: 'x' } }), '1.0');
});

test('a schema older than needed: /health and /patients 503 with both versions and the upgrade', async () => {
  const old = below(REQUIRED);
  setVersion(old);
  dropConnections();
  const health = await healthBecomes(proxy, 503);
  expectOld(health, old);
  assert.equal(health.json.status, 'unhealthy');
  expectOld(await proxy.call('GET', '/patients', { token }), old);
  expectOld(await proxy.call('GET', '/openapi.json'), old);
  // Even before the token is looked at; a path that is no route stays 404.
  expectOld(await proxy.call('GET', '/patients'), old);
  expectOld(await proxy.call('POST', '/patients', { token, body: { name: 'Nowy' } }), old);
  assert.equal((await proxy.call('GET', '/nothing-here')).status, 404);
});

test('upgraded to the needed version while running: healthy, and the api answers', async () => {
  setVersion(REQUIRED);
  const health = await healthBecomes(proxy, 200);
  assert.deepEqual(health.json, { status: 'healthy', schema_version: REQUIRED });
  const practice = await newPractice(proxy, 'schema');
  const patients = await proxy.call('GET', '/patients', { token: practice.token });
  assert.equal(patients.status, 200, patients.text);
  assert.deepEqual(patients.json, []);
});

test('a newer schema is served; an older one is noticed again on new connections', async () => {
  const newer = `${REQUIRED.split('.')[0]}.${Number(REQUIRED.split('.')[1]) + 1}`;
  setVersion(newer);
  dropConnections();
  const health = await healthBecomes(proxy, 200);
  assert.equal(health.json.schema_version, newer);
  setVersion(below(REQUIRED));
  dropConnections();
  expectOld(await healthBecomes(proxy, 503), below(REQUIRED));
  expectOld(await proxy.call('GET', '/patients', { token }), below(REQUIRED));
});
