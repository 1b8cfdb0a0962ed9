// /appointments: overlap rule, dates and times, prices as numbers, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack, expectError } from './harness.mjs';

const stack = useStack('appointments', { patientName: 'Pacjent Wizyt' });
const NOT_FOUND = 'Wizyta nie została znaleziona';
const OVERLAP = 'Wizyta koliduje z inną wizytą w tym terminie';
const call = (...args) => stack.call(...args);
const visit = (over = {}) => ({ patient_id: stack.patient.id, date: '2031-03-10', start_time: '10:00',
  end_time: '10:50', price: 180, ...over });

test('create answers the Appointment with a numeric price', async () => {
  const r = await call('POST', '/appointments', visit({ date: '2031-03-01', price: 150.5 }));
  assert.ok(r.status === 200 || r.status === 201, r.text);
  assert.deepEqual(Object.keys(r.json).sort(),
    ['cancel_reason', 'created_at', 'date', 'end_time', 'id', 'is_paid', 'late_cancellation', 'patient_id', 'price',
     'series_id', 'session_note_id', 'start_time', 'status']);
  assert.equal(r.json.price, 150.5);
  assert.equal(r.json.start_time, '10:00:00');
  assert.equal(r.json.is_paid, false);
  assert.equal(r.json.date, '2031-03-01');
});

test('overlapping appointments are refused; touching ends are not', async () => {
  const first = await call('POST', '/appointments', visit({ date: '2031-03-02' }));
  assert.equal(first.status, 200, first.text);
  expectError(await call('POST', '/appointments', visit({ date: '2031-03-02', start_time: '10:30',
    end_time: '11:00' })), 400, OVERLAP);
  expectError(await call('POST', '/appointments', visit({ date: '2031-03-02', start_time: '09:00',
    end_time: '12:00' })), 400, OVERLAP);
  const touching = await call('POST', '/appointments', visit({ date: '2031-03-02', start_time: '10:50:00',
    end_time: '11:40:00' }));
  assert.equal(touching.status, 200, touching.text);
  // Moving the second onto the first overlaps too.
  expectError(await call('PUT', `/appointments/${touching.json.id}`, { start_time: '10:40' }), 400, OVERLAP);
});

test('concurrent overlapping creates: exactly one wins', async () => {
  const results = await Promise.all(Array.from({ length: 6 }, () =>
    call('POST', '/appointments', visit({ date: '2031-03-03' }))));
  assert.equal(results.filter((r) => r.status === 200).length, 1, results.map((r) => r.status).join());
  for (const r of results.filter((x) => x.status !== 200)) expectError(r, 400, OVERLAP);
});

test('create refuses bad input with 422 and an unknown patient with 404', async () => {
  expectError(await call('POST', '/appointments', visit({ price: undefined })), 422);
  expectError(await call('POST', '/appointments', visit({ price: 0 })), 422);
  expectError(await call('POST', '/appointments', visit({ price: -5 })), 422);
  expectError(await call('POST', '/appointments', visit({ price: 'dużo' })), 422);
  expectError(await call('POST', '/appointments', visit({ end_time: '09:00' })), 422);
  expectError(await call('POST', '/appointments', visit({ date: '2031-02-30' })), 422);
  expectError(await call('POST', '/appointments', visit({ start_time: '25:00' })), 422);
  expectError(await call('POST', '/appointments', visit({ patient_id: 'x' })), 422);
  expectError(await call('POST', '/appointments', visit({ patient_id: 999999999 })), 404,
    'Pacjent nie został znaleziony');
});

test('list filters by inclusive dates and pages', async () => {
  for (const d of ['2031-04-01', '2031-04-02', '2031-04-03']) await call('POST', '/appointments', visit({ date: d }));
  const r = await call('GET', '/appointments?date_from=2031-04-02&date_to=2031-04-03');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.map((a) => a.date).sort(), ['2031-04-02', '2031-04-03']);
  const page = await call('GET', '/appointments/?date_from=2031-04-01&date_to=2031-04-03&skip=1&limit=1');
  assert.equal(page.json.length, 1);
  expectError(await call('GET', '/appointments?date_from=jutro'), 422);
  expectError(await call('GET', '/appointments?date_to=2031-13-01'), 422);
});

test('get, update with HH:MM, delete, then 404', async () => {
  const a = (await call('POST', '/appointments', visit({ date: '2031-05-05' }))).json;
  const got = await call('GET', `/appointments/${a.id}`);
  assert.deepEqual(got.json, a);
  const upd = await call('PUT', `/appointments/${a.id}`, { start_time: '11:00', end_time: '11:50', price: 200 });
  assert.equal(upd.status, 200, upd.text);
  assert.equal(upd.json.start_time, '11:00:00');
  assert.equal(upd.json.price, 200);
  expectError(await call('PUT', `/appointments/${a.id}`, { end_time: '10:00' }), 422);
  expectError(await call('PUT', `/appointments/${a.id}`, { price: 0 }), 422);
  expectError(await call('PUT', `/appointments/${a.id}`, { patient_id: 999999999 }), 404,
    'Pacjent nie został znaleziony');
  const del = await call('DELETE', `/appointments/${a.id}`);
  assert.deepEqual(del.json, { detail: 'Wizyta została usunięta' });
  expectError(await call('GET', `/appointments/${a.id}`), 404, NOT_FOUND);
  expectError(await call('PUT', `/appointments/${a.id}`, { price: 1 }), 404, NOT_FOUND);
  expectError(await call('DELETE', `/appointments/${a.id}`), 404, NOT_FOUND);
  expectError(await call('GET', '/appointments/x'), 422);
});
