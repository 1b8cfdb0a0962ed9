// /patients: list, get, create, update, delete, with the contract's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack, expectError } from './harness.mjs';

const stack = useStack('patients');
const NOT_FOUND = 'Pacjent nie został znaleziony';
const call = (...args) => stack.call(...args);

test('create answers the Patient; optional fields may be null', async () => {
  const r = await call('POST', '/patients', { name: 'Anna Nowak', phone: '+48 600 000 000',
    email: 'anna@example.com', notes: 'CBT' });
  assert.ok(r.status === 200 || r.status === 201, r.text);
  assert.deepEqual(Object.keys(r.json).sort(), ['created_at', 'email', 'id', 'name', 'notes', 'phone', 'reminder_email',
    'reminder_email_changed_at', 'reminder_sms', 'reminder_sms_changed_at']);
  assert.equal(r.json.reminder_email, false);
  assert.equal(r.json.name, 'Anna Nowak');
  const minimal = await call('POST', '/patients/', { name: 'Jan' });
  assert.ok(minimal.status === 200 || minimal.status === 201, minimal.text);
  assert.equal(minimal.json.phone, null);
  assert.equal(minimal.json.email, null);
  assert.equal(minimal.json.notes, null);
});

test('create refuses a missing or empty name and a bad email with 422', async () => {
  expectError(await call('POST', '/patients', { phone: '1' }), 422);
  expectError(await call('POST', '/patients', { name: '' }), 422);
  const bad = await call('POST', '/patients', { name: 'X', email: 'nie-email' });
  expectError(bad, 422);
  assert.equal(bad.json.errors?.[0]?.field, 'email', bad.text);
  expectError(await call('POST', '/patients', { name: 12 }), 422);
  expectError(await call('POST', '/patients', { name: ['a'] }), 422);
});

test('list pages with skip and limit, with or without a trailing slash', async () => {
  for (let i = 0; i < 5; i++) await call('POST', '/patients', { name: `Lista ${i}` });
  const all = await call('GET', '/patients');
  assert.equal(all.status, 200);
  assert.ok(Array.isArray(all.json) && all.json.length >= 5);
  const slash = await call('GET', '/patients/');
  assert.deepEqual(slash.json, all.json);
  const page = await call('GET', '/patients?skip=1&limit=2');
  assert.equal(page.status, 200);
  assert.deepEqual(page.json.map((p) => p.id), all.json.slice(1, 3).map((p) => p.id));
  const bad = await call('GET', '/patients?limit=abc');
  assert.ok([200, 422].includes(bad.status), bad.text);
});

test('get, update a subset, delete, then 404', async () => {
  const created = (await call('POST', '/patients', { name: 'Ewa', email: 'ewa@example.com', notes: 'a' })).json;
  const got = await call('GET', `/patients/${created.id}`);
  assert.equal(got.status, 200);
  assert.deepEqual(got.json, created);

  const upd = await call('PUT', `/patients/${created.id}`, { notes: 'b' });
  assert.equal(upd.status, 200, upd.text);
  assert.equal(upd.json.notes, 'b');
  assert.equal(upd.json.name, 'Ewa');
  assert.equal(upd.json.email, 'ewa@example.com');
  expectError(await call('PUT', `/patients/${created.id}`, { email: 'zly' }), 422);
  expectError(await call('PUT', `/patients/${created.id}`, { name: '' }), 422);

  const del = await call('DELETE', `/patients/${created.id}`);
  assert.equal(del.status, 200, del.text);
  assert.deepEqual(del.json, { detail: 'Pacjent został usunięty' });
  expectError(await call('GET', `/patients/${created.id}`), 404, NOT_FOUND);
  expectError(await call('DELETE', `/patients/${created.id}`), 404, NOT_FOUND);
  expectError(await call('PUT', `/patients/${created.id}`, { notes: 'c' }), 404, NOT_FOUND);
  const list = await call('GET', '/patients?limit=1000');
  assert.ok(!list.json.some((p) => p.id === created.id), 'a deleted patient leaves the list');
});

test('missing ids answer 404; non-integer ids 422', async () => {
  expectError(await call('GET', '/patients/999999999'), 404, NOT_FOUND);
  expectError(await call('PUT', '/patients/999999999', { name: 'x' }), 404, NOT_FOUND);
  expectError(await call('DELETE', '/patients/999999999'), 404, NOT_FOUND);
  for (const id of ['abc', '1.5', '-1', '1e3', '99999999999999999999', '%20']) {
    const r = await call('GET', `/patients/${id}`);
    expectError(r, 422, 'Nieprawidłowy identyfikator');
  }
});
