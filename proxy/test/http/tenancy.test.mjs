// Two practices: the other practice's ids answer 404 exactly as missing ones, and lists never mix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy, newPractice, expectError } from './harness.mjs';

let proxy;
let a;
let b;
const owned = {};
before(async () => {
  proxy = await Proxy.start();
  a = await newPractice(proxy, 'tenant-a');
  b = await newPractice(proxy, 'tenant-b');
  const as = (method, path, body) => proxy.call(method, path, { token: a.token, body });
  owned.patient = (await as('POST', '/patients', { name: 'Pacjent A' })).json;
  owned.appointment = (await as('POST', '/appointments', { patient_id: owned.patient.id, date: '2033-01-01',
    start_time: '10:00', end_time: '11:00', price: 100 })).json;
  owned.note = (await as('POST', '/session_notes', { patient_id: owned.patient.id, content: 'tajne' })).json;
  owned.payment = (await as('POST', '/payments', { patient_id: owned.patient.id, amount: 100,
    payment_method: 'CASH', appointment_ids: [owned.appointment.id] })).json;
  for (const [k, v] of Object.entries(owned)) assert.equal(typeof v?.id, 'number', `setup ${k}`);
});
after(async () => { await proxy?.stop(); });

test("the other practice's rows answer 404, like missing ones", async () => {
  const { patient, appointment, note, payment } = owned;
  const asB = (method, path, body) => proxy.call(method, path, { token: b.token, body });
  const P = 'Pacjent nie został znaleziony';
  const W = 'Wizyta nie została znaleziona';
  const N = 'Notatka nie została znaleziona';
  const Z = 'Płatność nie została znaleziona';
  for (const [method, path, body, detail] of [
    ['GET', `/patients/${patient.id}`, undefined, P],
    ['PUT', `/patients/${patient.id}`, { name: 'przejęty' }, P],
    ['DELETE', `/patients/${patient.id}`, undefined, P],
    ['GET', `/appointments/${appointment.id}`, undefined, W],
    ['PUT', `/appointments/${appointment.id}`, { price: 1 }, W],
    ['DELETE', `/appointments/${appointment.id}`, undefined, W],
    ['GET', `/session_notes/${patient.id}`, undefined, P],
    ['GET', `/session_notes/note/${note.id}`, undefined, N],
    ['PUT', `/session_notes/note/${note.id}`, { content: 'x' }, N],
    ['DELETE', `/session_notes/${note.id}`, undefined, N],
    ['GET', `/payments/${payment.id}`, undefined, Z],
    ['PATCH', `/payments/${payment.id}`, { amount: 1 }, Z],
    ['DELETE', `/payments/${payment.id}`, undefined, Z],
    ['GET', `/payments/patient/${patient.id}/unpaid-appointments`, undefined, P],
    ['POST', '/appointments', { patient_id: patient.id, date: '2033-01-02', start_time: '10:00',
      end_time: '11:00', price: 100 }, P],
    ['POST', '/session_notes', { patient_id: patient.id, content: 'x' }, P],
  ]) expectError(await asB(method, path, body), 404, detail);

  // B's payment for A's appointment: B's own patient, A's appointment id.
  const mine = (await asB('POST', '/patients', { name: 'Pacjent B' })).json;
  expectError(await asB('POST', '/payments', { patient_id: mine.id, amount: 100, payment_method: 'CASH',
    appointment_ids: [appointment.id] }), 400, 'Niektóre wizyty nie istnieją lub nie należą do tego pacjenta');
  // Nothing of A changed.
  const still = await proxy.call('GET', `/payments/${payment.id}`, { token: a.token });
  assert.equal(still.status, 200);
  assert.equal(still.json.amount, 100);
});

test('lists and statistics show only the own practice', async () => {
  const asB = (path) => proxy.call('GET', path, { token: b.token });
  assert.ok(!(await asB('/patients?limit=500')).json.some((p) => p.id === owned.patient.id));
  assert.ok(!(await asB('/appointments?limit=500')).json.some((x) => x.id === owned.appointment.id));
  assert.ok(!(await asB('/session_notes?limit=500')).json.some((x) => x.id === owned.note.id));
  const payments = (await asB('/payments?limit=500')).json;
  assert.ok(!payments.payments.some((x) => x.id === owned.payment.id));
  assert.equal(payments.total, 0);
  assert.equal((await asB('/payments/statistics/summary')).json.total_payments, 0);
});
