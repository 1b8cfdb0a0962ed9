// Reads on a streaming replica (DB_READ_URL) against a real hot standby of the stack's cluster (stack/replica.sh):
// GETs are answered there and each still leaves its audit row on the primary; a session reads its own writes;
// a lagging or stopped replica is not read; no answer leaves without its audit row.
// Needs DB_READ_URL (the replica as the application role), REPLICA_PGHOST/REPLICA_PGPORT (its socket, for the
// superuser) and REPLICA_COMMAND (stack/replica.sh), besides what the HTTP harness needs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Proxy, newPractice, expectError } from '../http/harness.mjs';

const READ_URL = process.env.DB_READ_URL;
const MAX_LAG_MS = 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sql(query, { replica = false } = {}) {
  const args = ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'postgres', '-d', 'therapyassistance'];
  if (replica) args.push('-h', process.env.REPLICA_PGHOST, '-p', process.env.REPLICA_PGPORT);
  return execFileSync('psql', args, { input: query, encoding: 'utf8' }).trim();
}

// Reads the replica answered so far: the proxy's access log (its stdout, a moment behind) marks them.
async function replicaReads() {
  await sleep(200);
  return ctx.proxy.stdout.split('\n').filter((l) => l.includes('"db":"replica"')).length;
}
// The table read directly: first wait for the rows the audit writer has queued (reads the primary answered).
const auditRows = (route) => Number(sql(
  `SELECT ta.audit_flush(); SELECT count(*) FROM ta.audit_log WHERE route = '${route}' AND user_id = ${ctx.userId}`));
const replica = (command) => execFileSync(process.env.REPLICA_COMMAND, [command], { stdio: 'ignore' });

const ctx = {};
before(async () => {
  assert.ok(READ_URL, 'DB_READ_URL must point at the replica');
  assert.equal(sql('SELECT pg_is_in_recovery()', { replica: true }), 't', 'DB_READ_URL is not a standby');
  ctx.proxy = await Proxy.start({ DB_READ_URL: READ_URL, DB_READ_MAX_LAG_MS: String(MAX_LAG_MS) });
  const practice = await newPractice(ctx.proxy, 'replica');
  ctx.token = practice.token;
  ctx.userId = practice.user.id;
  ctx.call = (method, path, body) => ctx.proxy.call(method, path, { token: ctx.token, body });
  for (const name of ['Anna Replika', 'Bartek Replika', 'Celina Replika']) {
    assert.equal((await ctx.call('POST', '/patients', { name })).status, 200);
  }
  await sleep(MAX_LAG_MS + 100);  // this session's writes no longer keep its reads on the primary
});
after(async () => {
  sql('GRANT EXECUTE ON FUNCTION api.record_read(json) TO ta_app');
  sql('SELECT pg_wal_replay_resume() WHERE pg_is_wal_replay_paused()', { replica: true });
  await ctx.proxy?.stop();
});

// Reads (answered by the primary while the replica has replayed nothing recent, their audit rows committed
// asynchronously) until the replica has replayed a commit of the last 300 ms.
async function warmUp() {
  const lag = () => Number(sql(
    'SELECT extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000', { replica: true }));
  for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
    await ctx.call('GET', '/patients');
    if (lag() < 300) return;
    await sleep(20);
  }
  assert.fail('the replica does not replay the primary\'s commits');
}

test('reads are answered by the replica, and each leaves its audit row on the primary', async () => {
  await warmUp();
  const before = await replicaReads();
  const audited = auditRows('GET /patients');
  for (let i = 0; i < 20; i++) {
    const list = await ctx.call('GET', '/patients');
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.json.map((p) => p.name), ['Anna Replika', 'Bartek Replika', 'Celina Replika']);
    await sleep(20);
  }
  // Each read's audit row, replayed, keeps the replica fresh for the next ones.
  const served = await replicaReads() - before;
  assert.ok(served >= 18 && served <= 20, `the replica answered ${served} of 20 reads`);
  assert.equal(auditRows('GET /patients') - audited, 20);
  const ids = sql(`SELECT ta.audit_flush(); SELECT patient_ids FROM ta.audit_log WHERE user_id = ${ctx.userId}
                   AND route = 'GET /patients' ORDER BY id DESC LIMIT 1`);
  assert.equal(ids.split(',').length, 3, `audit row names the patients shown: ${ids}`);
  // A refusal is the primary's to give (a replica a moment behind may not know a patient yet): answered the same.
  const answered = await replicaReads();
  expectError(await ctx.call('GET', '/patients/999999999'), 404, 'Pacjent nie został znaleziony');
  assert.equal(await replicaReads(), answered, 'the 404 came from the primary');
});

test('a session reads its own write at once, even from a replica that has not replayed it', async () => {
  await warmUp();
  sql('SELECT pg_wal_replay_pause()', { replica: true });
  try {
    const created = await ctx.call('POST', '/patients', { name: 'Dorota Zaraz' });
    assert.equal(created.status, 200, created.text);
    const list = await ctx.call('GET', '/patients');
    assert.equal(list.status, 200);
    assert.ok(list.json.some((p) => p.id === created.json.id), 'the new patient is in the list at once');
    const one = await ctx.call('GET', `/patients/${created.json.id}`);
    assert.equal(one.status, 200, one.text);
    // Someone who registers now is unknown to the paused replica: their first read is not refused.
    const newcomer = await newPractice(ctx.proxy, 'replica-new');
    const first = await ctx.proxy.call('GET', '/patients', { token: newcomer.token });
    assert.equal(first.status, 200, first.text);
    // A lagging replica is not read: once this session's write is older than the lag, its reads may go to
    // the replica again, but that has replayed nothing for longer than the lag, so the primary answers.
    await sleep(MAX_LAG_MS + 200);
    const again = await ctx.call('GET', '/patients');
    assert.ok(again.json.some((p) => p.id === created.json.id), 'a lagging replica is not read');
  } finally {
    sql('SELECT pg_wal_replay_resume()', { replica: true });
  }
});

test('no answer leaves without its audit row: if the primary cannot record it, the read answers 503', async () => {
  await warmUp();
  sql('REVOKE EXECUTE ON FUNCTION api.record_read(json) FROM ta_app');
  try {
    const refused = await ctx.call('GET', '/patients');
    expectError(refused, 503);
    assert.doesNotMatch(refused.text, /Replika/, 'no patient data in the refusal');
  } finally {
    sql('GRANT EXECUTE ON FUNCTION api.record_read(json) TO ta_app');
  }
});

test('a stopped replica: reads go to the primary, audited as ever; started again, it answers again', async () => {
  replica('stop');
  try {
    const audited = auditRows('GET /patients');
    for (let i = 0; i < 5; i++) assert.equal((await ctx.call('GET', '/patients')).status, 200);
    assert.equal(auditRows('GET /patients') - audited, 5);
  } finally {
    replica('start');
  }
  // The proxy asks a replica that failed again a second later, on a new connection.
  const before = await replicaReads();
  for (const deadline = Date.now() + 10000; Date.now() < deadline && await replicaReads() - before < 10;) {
    assert.equal((await ctx.call('GET', '/patients')).status, 200);
  }
  assert.ok(await replicaReads() - before >= 10, 'the replica answers again after it is back');
});
