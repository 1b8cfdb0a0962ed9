// Fault tests: kill -9 of the proxy during a burst of writes, PostgreSQL stopped and started during traffic,
// every backend connection terminated. Afterwards every acknowledged write is in the database exactly as
// acknowledged, nothing is half-written (a payment and the appointments it pays go in together or not at all),
// the is_paid invariant holds for every appointment, /health answered 503 during the outage and 200 after,
// and the proxy recovered by itself (same process, no restart). PG_CTL_COMMAND (pg_ctl -D ... -l ...) controls
// the stack's cluster; without it the database tests are skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec } from 'node:child_process';
import { promisify } from 'node:util';
import { Proxy, newPractice } from '../proxy/test/http/harness.mjs';
import { superSql } from './db.mjs';
import { healthWithin } from './net.mjs';

const run = promisify(exec);
const PG_CTL = process.env.PG_CTL_COMMAND;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The invariants over every practice: an appointment is paid exactly when it links a live payment of the same
// patient; a live payment links at least one appointment and covers their prices; an archived one links none.
function checkInvariants() {
  const broken = superSql(`select json_build_object(
    'paid_by_missing_or_archived', (select count(*) from ta.appointments a left join ta.payments p on p.id = a.payment_id
        where a.payment_id is not null and (p.id is null or p.deleted_at is not null or p.patient_id <> a.patient_id)),
    'payment_without_appointments', (select count(*) from ta.payments p where p.deleted_at is null
        and not exists (select 1 from ta.appointments a where a.payment_id = p.id)),
    'payment_below_prices', (select count(*) from ta.payments p where p.deleted_at is null
        and p.amount < (select sum(price) from ta.appointments a where a.payment_id = p.id)))`);
  assert.deepEqual(JSON.parse(broken), { paid_by_missing_or_archived: 0, payment_without_appointments: 0,
    payment_below_prices: 0 });
}

// Writers: each loops creating an appointment and a payment for it until stopped, keeping what was acknowledged.
// Answers other than 200 must be 503 (the database gone) or a refused fetch (the proxy gone), never a 500.
function startWriters(proxy, token, patientId, { workers = 24, firstDay = 0 } = {}) {
  const acked = { appointments: [], payments: [] };
  const statuses = new Map();
  let stop = false;
  const count = (s) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
  const call = async (method, path, body) => {
    try {
      const r = await proxy.call(method, path, { token, body });
      count(r.status);
      return r;
    } catch {
      count('no answer');
      return null;
    }
  };
  const worker = async (w) => {
    for (let i = 0; !stop; i++) {
      const day = new Date(Date.UTC(2060, 0, 1 + firstDay + w * 400 + i)).toISOString().slice(0, 10);
      const price = 50 + ((w + i) % 7) * 10;
      const a = await call('POST', '/appointments', { patient_id: patientId, date: day, start_time: '10:00',
        end_time: '10:50', price });
      if (a?.status !== 200) { await sleep(20); continue; }
      acked.appointments.push(a.json);
      const p = await call('POST', '/payments', { patient_id: patientId, amount: price, payment_method: 'CASH',
        appointment_ids: [a.json.id], description: `w${w}-${i}` });
      if (p?.status === 200) acked.payments.push(p.json);
    }
  };
  const done = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return { acked, statuses, stop: async () => { stop = true; await done; } };
}

// Every acknowledged write is in the database as acknowledged.
function checkAcknowledged(t, { acked, statuses }) {
  t.diagnostic(`acknowledged ${acked.appointments.length} appointments, ${acked.payments.length} payments; ` +
    `answers ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.ok(acked.appointments.length > 0, 'nothing was acknowledged');
  const ids = acked.appointments.map((a) => a.id);
  const rows = JSON.parse(superSql(`select coalesce(json_object_agg(id, json_build_object('date', date, 'price', price,
    'payment_id', payment_id, 'deleted', deleted_at is not null)), '{}') from ta.appointments where id = any('{${ids}}')`));
  for (const a of acked.appointments) {
    const row = rows[a.id];
    assert.ok(row, `acknowledged appointment ${a.id} is missing`);
    assert.equal(row.date, a.date);
    assert.equal(Number(row.price), a.price);
    assert.equal(row.deleted, false);
  }
  for (const p of acked.payments) {
    assert.equal(p.appointments.length, 1);
    assert.equal(rows[p.appointments[0].id]?.payment_id, p.id, `payment ${p.id} does not hold its appointment`);
  }
  const payments = acked.payments.map((p) => p.id);
  if (payments.length > 0) {
    assert.equal(superSql(`select count(*) from ta.payments where deleted_at is null and id = any('{${payments}}')`),
      String(payments.length));
  }
}

const unexpected = (statuses, allowed) => [...statuses.keys()].filter((s) => !allowed.includes(s));

test('kill -9 of the proxy during a burst of writes loses no acknowledged write and half-writes nothing', async (t) => {
  const proxy = await Proxy.start();
  const { token } = await newPractice(proxy, 'kill9');
  const patient = (await proxy.call('POST', '/patients', { token, body: { name: 'Zabity' } })).json;
  const writers = startWriters(proxy, token, patient.id);
  await sleep(700);
  proxy.child.kill('SIGKILL');
  const { signal } = await proxy.exited;
  assert.equal(signal, 'SIGKILL');
  await writers.stop();
  assert.deepEqual(unexpected(writers.statuses, [200, 'no answer']), [], JSON.stringify([...writers.statuses]));
  checkAcknowledged(t, writers);
  checkInvariants();
  // What systemd does: start it again. It serves at once, and the acknowledged rows read back paid.
  const again = await Proxy.start();
  try {
    for (const p of writers.acked.payments.slice(0, 20)) {
      const a = await again.call('GET', `/appointments/${p.appointments[0].id}`, { token });
      assert.equal(a.json.is_paid, true);
    }
  } finally {
    await again.stop();
  }
});

test('PostgreSQL stopped and started during traffic: 503 meanwhile, 200 after, the same proxy recovers',
  { skip: !PG_CTL && 'PG_CTL_COMMAND not set' }, async (t) => {
    const proxy = await Proxy.start();
    const { token } = await newPractice(proxy, 'pgstop');
    const patient = (await proxy.call('POST', '/patients', { token, body: { name: 'Przerwa' } })).json;
    const writers = startWriters(proxy, token, patient.id, { workers: 8 });
    let stopped = false;
    try {
      await sleep(400);
      await run(`${PG_CTL} -m fast -w stop`);
      stopped = true;
      // During the outage: /health answers 503 within a second, API calls 503.
      await sleep(300);
      assert.equal(await healthWithin(proxy.port, 1000), 503);
      const during = await proxy.call('GET', '/patients', { token });
      assert.equal(during.status, 503, during.text);
      await run(`${PG_CTL} -w start`);
      stopped = false;
      // The same process reconnects by itself.
      let health = 0;
      for (let i = 0; i < 100 && health !== 200; i++) {
        health = await healthWithin(proxy.port, 1000);
        if (health !== 200) await sleep(100);
      }
      assert.equal(health, 200);
      await sleep(500);   // the writers succeed again
    } finally {
      if (stopped) await run(`${PG_CTL} -w start`);
      await writers.stop();
    }
    assert.equal(proxy.child.exitCode, null, 'the proxy was not restarted');
    assert.deepEqual(unexpected(writers.statuses, [200, 503]), [], JSON.stringify([...writers.statuses]));
    assert.ok(writers.statuses.get(503) > 0, 'no request saw the outage');
    const before = writers.acked.appointments.length;
    checkAcknowledged(t, writers);
    checkInvariants();
    // New writes after the restart were acknowledged too.
    const after = await proxy.call('POST', '/appointments', { token, body: { patient_id: patient.id, date: '2069-12-31',
      start_time: '10:00', end_time: '11:00', price: 10 } });
    assert.equal(after.status, 200, after.text);
    assert.ok(before > 0);
    await proxy.stop();
  });

test('every backend connection terminated during traffic: nothing lost, the proxy recovers by itself', async (t) => {
  const proxy = await Proxy.start();
  const { token } = await newPractice(proxy, 'terminate');
  const patient = (await proxy.call('POST', '/patients', { token, body: { name: 'Rozłączony' } })).json;
  const writers = startWriters(proxy, token, patient.id, { workers: 12, firstDay: 200 });
  let terminated = 0;
  try {
    for (let i = 0; i < 5; i++) {
      await sleep(150);
      terminated += Number(superSql(`select count(pg_terminate_backend(pid)) from pg_stat_activity
        where datname = 'therapyassistance' and usename = 'ta_app' and pid <> pg_backend_pid()`));
    }
    await sleep(300);
  } finally {
    await writers.stop();
  }
  assert.ok(terminated >= 5, `${terminated} backends terminated`);
  // In-flight statements of a killed backend answer 503; nothing else fails.
  assert.deepEqual(unexpected(writers.statuses, [200, 503]), [], JSON.stringify([...writers.statuses]));
  checkAcknowledged(t, writers);
  checkInvariants();
  assert.equal(await healthWithin(proxy.port, 1000), 200);
  const results = await Promise.all(Array.from({ length: 16 }, () => proxy.call('GET', '/patients', { token })));
  assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
  await proxy.stop();
});
