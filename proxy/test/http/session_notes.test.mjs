// /session_notes: lists newest first, per patient, the /note/{id} routes and delete by note id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack, expectError } from './harness.mjs';

const stack = useStack('notes', { patientName: 'Pacjent Notatek' });
const NOT_FOUND = 'Notatka nie została znaleziona';
const call = (...args) => stack.call(...args);

test('create, list (both slashes) newest first, list per patient', async () => {
  const first = await call('POST', '/session_notes', { patient_id: stack.patient.id, content: 'pierwsza' });
  assert.ok(first.status === 200 || first.status === 201, first.text);
  assert.deepEqual(Object.keys(first.json).sort(), ['content', 'created_at', 'id', 'patient_id']);
  const second = await call('POST', '/session_notes/', { patient_id: stack.patient.id, content: 'druga — zażółć' });
  assert.equal(second.json.content, 'druga — zażółć');

  for (const path of ['/session_notes', '/session_notes/']) {
    const r = await call('GET', path);
    assert.equal(r.status, 200);
    const ids = r.json.map((n) => n.id);
    assert.ok(ids.indexOf(second.json.id) < ids.indexOf(first.json.id), 'newest first');
  }
  const mine = await call('GET', `/session_notes/${stack.patient.id}`);
  assert.equal(mine.status, 200);
  assert.deepEqual(mine.json.map((n) => n.id), [second.json.id, first.json.id]);
  const paged = await call('GET', `/session_notes/${stack.patient.id}?skip=1&limit=1`);
  assert.deepEqual(paged.json.map((n) => n.id), [first.json.id]);
  expectError(await call('GET', '/session_notes/999999999'), 404, 'Pacjent nie został znaleziony');
});

test('create refuses empty content (422) and an unknown patient (404)', async () => {
  expectError(await call('POST', '/session_notes', { patient_id: stack.patient.id, content: '' }), 422);
  expectError(await call('POST', '/session_notes', { patient_id: stack.patient.id }), 422);
  expectError(await call('POST', '/session_notes', { patient_id: 999999999, content: 'x' }), 404,
    'Pacjent nie został znaleziony');
});

test('get, update and delete a note by its id', async () => {
  const note = (await call('POST', '/session_notes', { patient_id: stack.patient.id, content: 'treść' })).json;
  const got = await call('GET', `/session_notes/note/${note.id}`);
  assert.deepEqual(got.json, note);
  const upd = await call('PUT', `/session_notes/note/${note.id}`, { content: 'nowa treść' });
  assert.equal(upd.status, 200, upd.text);
  assert.equal(upd.json.content, 'nowa treść');
  expectError(await call('PUT', `/session_notes/note/${note.id}`, { content: '' }), 422);
  const del = await call('DELETE', `/session_notes/${note.id}`);
  assert.deepEqual(del.json, { detail: 'Notatka została usunięta' });
  expectError(await call('GET', `/session_notes/note/${note.id}`), 404, NOT_FOUND);
  expectError(await call('PUT', `/session_notes/note/${note.id}`, { content: 'x' }), 404, NOT_FOUND);
  expectError(await call('DELETE', `/session_notes/${note.id}`), 404, NOT_FOUND);
  expectError(await call('GET', '/session_notes/note/abc'), 422);
  expectError(await call('GET', '/session_notes/note'), 422);
});
