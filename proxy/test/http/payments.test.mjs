// /payments: linking appointments, the is_paid invariant, filters, statistics and every listed error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack, expectError, warsawDay } from './harness.mjs';

let patient;
let other;
const stack = useStack('payments', {
  setup: async ({ call }) => {
    patient = (await call('POST', '/patients', { name: 'Płacący', email: 'p@example.com' })).json;
    other = (await call('POST', '/patients', { name: 'Inny' })).json;
  },
});

const NOT_FOUND = 'Płatność nie została znaleziona';
const call = (...args) => stack.call(...args);
let day = 1;
async function appointment(p = patient, price = 100) {
  const d = `2032-01-${String(day++).padStart(2, '0')}`;
  const r = await call('POST', '/appointments', { patient_id: p.id, date: d, start_time: '09:00',
    end_time: '09:50', price });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test('create links appointments and marks them paid; get adds the patient', async () => {
  const a = await appointment();
  const b = await appointment();
  const r = await call('POST', '/payments', { patient_id: patient.id, amount: 200, payment_method: 'CASH',
    appointment_ids: [a.id, b.id], description: 'dwie sesje', payment_date: '2032-01-31' });
  assert.ok(r.status === 200 || r.status === 201, r.text);
  assert.equal(r.json.amount, 200);
  assert.equal(r.json.payment_method, 'CASH');
  assert.deepEqual(r.json.appointments.map((x) => x.id).sort(), [a.id, b.id].sort());
  assert.ok(r.json.appointments.every((x) => x.is_paid === true));
  assert.equal((await call('GET', `/appointments/${a.id}`)).json.is_paid, true);

  const got = await call('GET', `/payments/${r.json.id}`);
  assert.equal(got.status, 200);
  assert.equal(got.json.patient_name, 'Płacący');
  assert.equal(got.json.patient_email, 'p@example.com');
  assert.ok('patient_phone' in got.json);
  const slash = await call('POST', '/payments/', { patient_id: patient.id, amount: 100, payment_method: 'TRANSFER',
    appointment_ids: [(await appointment()).id] });
  assert.equal(slash.status, 200, slash.text);
});

test('create refuses what the contract lists', async () => {
  const a = await appointment(patient, 150);
  const theirs = await appointment(other);
  expectError(await call('POST', '/payments', { patient_id: 999999999, amount: 1, payment_method: 'CASH',
    appointment_ids: [a.id] }), 404, 'Pacjent nie został znaleziony');
  expectError(await call('POST', '/payments', { patient_id: patient.id, amount: 500, payment_method: 'CASH',
    appointment_ids: [theirs.id] }), 400, 'Niektóre wizyty nie istnieją lub nie należą do tego pacjenta');
  expectError(await call('POST', '/payments', { patient_id: patient.id, amount: 500, payment_method: 'CASH',
    appointment_ids: [999999999] }), 400, 'Niektóre wizyty nie istnieją lub nie należą do tego pacjenta');
  expectError(await call('POST', '/payments', { patient_id: patient.id, amount: 100, payment_method: 'CASH',
    appointment_ids: [a.id] }), 400, 'Kwota płatności (100.0 PLN) jest mniejsza niż suma cen wybranych wizyt (150.0 PLN)');
  const paid = await call('POST', '/payments', { patient_id: patient.id, amount: 150, payment_method: 'CASH',
    appointment_ids: [a.id] });
  assert.equal(paid.status, 200, paid.text);
  expectError(await call('POST', '/payments', { patient_id: patient.id, amount: 150, payment_method: 'CASH',
    appointment_ids: [a.id] }), 400, `Wizyty o ID [${a.id}] są już opłacone`);
  const b = await appointment();
  for (const body of [
    { patient_id: patient.id, amount: 100, payment_method: 'CARD', appointment_ids: [b.id] },
    { patient_id: patient.id, amount: -1, payment_method: 'CASH', appointment_ids: [b.id] },
    { patient_id: patient.id, amount: 100, payment_method: 'CASH', appointment_ids: [] },
    { patient_id: patient.id, amount: 100, payment_method: 'CASH' },
    { patient_id: patient.id, amount: 'sto', payment_method: 'CASH', appointment_ids: [b.id] },
    { patient_id: patient.id, amount: 100, payment_method: 'CASH', appointment_ids: 'x' },
  ]) expectError(await call('POST', '/payments', body), 422);
});

test('patch changes the set of appointments and keeps is_paid exact', async () => {
  const a = await appointment();
  const b = await appointment();
  const c = await appointment();
  const p = (await call('POST', '/payments', { patient_id: patient.id, amount: 200, payment_method: 'CASH',
    appointment_ids: [a.id, b.id] })).json;
  const r = await call('PATCH', `/payments/${p.id}`, { appointment_ids: [b.id, c.id], description: 'zmiana' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.appointments.map((x) => x.id).sort(), [b.id, c.id].sort());
  assert.equal((await call('GET', `/appointments/${a.id}`)).json.is_paid, false);
  assert.equal((await call('GET', `/appointments/${c.id}`)).json.is_paid, true);
  const amount = await call('PATCH', `/payments/${p.id}`, { amount: 250.75, payment_method: 'TRANSFER' });
  assert.equal(amount.json.amount, 250.75);
  assert.equal(amount.json.payment_method, 'TRANSFER');

  const q = (await call('POST', '/payments', { patient_id: patient.id, amount: 100, payment_method: 'CASH',
    appointment_ids: [a.id] })).json;
  expectError(await call('PATCH', `/payments/${p.id}`, { appointment_ids: [a.id, b.id] }), 400,
    `Wizyta o ID ${a.id} jest już opłacona`);
  expectError(await call('PATCH', `/payments/${q.id}`, { amount: 10 }), 400);
  expectError(await call('PATCH', `/payments/${q.id}`, { payment_method: 'BLIK' }), 422);
  expectError(await call('PATCH', '/payments/999999999', { amount: 1 }), 404, NOT_FOUND);
});

test('list answers {total, payments} newest first, with filters; limit is 1..500', async () => {
  const r = await call('GET', '/payments');
  assert.equal(r.status, 200);
  assert.equal(typeof r.json.total, 'number');
  assert.ok(r.json.total >= r.json.payments.length);
  const instants = r.json.payments.map((p) => Date.parse(p.payment_date));
  assert.deepEqual(instants, [...instants].sort((x, y) => y - x));
  assert.ok(r.json.payments.every((p) => 'patient_name' in p && Array.isArray(p.appointments)));
  const slash = await call('GET', '/payments/?limit=1');
  assert.equal(slash.json.payments.length, 1);
  assert.equal(slash.json.total, r.json.total);
  const cash = await call('GET', `/payments?payment_method=CASH&patient_id=${patient.id}`);
  assert.ok(cash.json.payments.every((p) => p.payment_method === 'CASH' && p.patient_id === patient.id));
  const ranged = await call('GET', '/payments?date_from=2032-01-31&date_to=2032-01-31');
  assert.ok(ranged.json.payments.every((p) => warsawDay(p.payment_date) === '2032-01-31'));
  assert.ok(ranged.json.total >= 1);
  expectError(await call('GET', '/payments?limit=0'), 422);
  expectError(await call('GET', '/payments?limit=501'), 422);
  expectError(await call('GET', '/payments?date_from=wczoraj'), 422);
  expectError(await call('GET', '/payments?payment_method=CARD'), 422);
});

test('unpaid appointments and statistics', async () => {
  const a = await appointment();
  const unpaid = await call('GET', `/payments/patient/${patient.id}/unpaid-appointments`);
  assert.equal(unpaid.status, 200);
  assert.ok(unpaid.json.includes(a.id));
  assert.ok(unpaid.json.every((x) => typeof x === 'number'));
  expectError(await call('GET', '/payments/patient/999999999/unpaid-appointments'), 404,
    'Pacjent nie został znaleziony');
  expectError(await call('GET', '/payments/patient/abc/unpaid-appointments'), 422);

  const s = await call('GET', '/payments/statistics/summary');
  assert.equal(s.status, 200, s.text);
  assert.deepEqual(Object.keys(s.json).sort(),
    ['cash_amount', 'cash_count', 'total_amount', 'total_payments', 'transfer_amount', 'transfer_count']);
  assert.equal(typeof s.json.total_amount, 'number');
  assert.equal(s.json.total_amount, s.json.cash_amount + s.json.transfer_amount);
  const ranged = await call('GET', '/payments/statistics/summary?date_from=2032-01-31&date_to=2032-01-31');
  assert.equal(ranged.status, 200);
  assert.ok(ranged.json.total_payments >= 1);
});

test('delete unpays its appointments', async () => {
  const a = await appointment();
  const p = (await call('POST', '/payments', { patient_id: patient.id, amount: 100, payment_method: 'CASH',
    appointment_ids: [a.id] })).json;
  const del = await call('DELETE', `/payments/${p.id}`);
  assert.deepEqual(del.json, { detail: 'Płatność została usunięta, wizyty oznaczone jako nieopłacone' });
  assert.equal((await call('GET', `/appointments/${a.id}`)).json.is_paid, false);
  expectError(await call('GET', `/payments/${p.id}`), 404, NOT_FOUND);
  expectError(await call('DELETE', `/payments/${p.id}`), 404, NOT_FOUND);
  expectError(await call('GET', '/payments/x'), 422);
});
