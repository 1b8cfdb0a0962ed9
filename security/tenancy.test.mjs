// Tenant isolation matrix: practice B tries every route that takes an id with practice A's ids (live and
// archived rows), and id-bearing fields in bodies and query strings. Every attempt answers 404 (or the refusal a
// missing id gets) without any of A's data, and A's rows, read as the superuser, are byte for byte unchanged.
// Lists, statistics, unpaid lists and the audit trail show only the caller's rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Proxy, newPractice, decodeClaims } from '../proxy/test/http/harness.mjs';
import { practiceSnapshot } from './db.mjs';

const OPENAPI = JSON.parse(readFileSync(new URL('../proxy/openapi.json', import.meta.url)));
const SECRET_MARK = 'TAJNE-A-';   // every text of A's rows starts with it; no answer to B may contain it

let proxy;
let a;
let b;
const A = {};   // A's rows: patient, second patient, appointment (paid), unpaid appointment, note, payment, archived
const B = {};
before(async () => {
  proxy = await Proxy.start();
  a = await newPractice(proxy, 'iso-a');
  b = await newPractice(proxy, 'iso-b');
  a.pid = decodeClaims(a.token).pid;
  b.pid = decodeClaims(b.token).pid;
  const as = async (who, method, path, body) => {
    const r = await proxy.call(method, path, { token: who.token, body });
    assert.ok(r.status === 200 || r.status === 201, `${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
  };
  const m = SECRET_MARK;
  A.patient = await as(a, 'POST', '/patients', { name: `${m}pacjent`, email: 'a-secret@example.com',
    phone: `${m}tel`, notes: `${m}notatki` });
  A.archivedPatient = await as(a, 'POST', '/patients', { name: `${m}archiwalny` });
  A.appointment = await as(a, 'POST', '/appointments', { patient_id: A.patient.id, date: '2034-03-01',
    start_time: '10:00', end_time: '11:00', price: 150 });
  A.unpaid = await as(a, 'POST', '/appointments', { patient_id: A.patient.id, date: '2034-03-02',
    start_time: '10:00', end_time: '11:00', price: 170 });
  A.archivedAppointment = await as(a, 'POST', '/appointments', { patient_id: A.patient.id, date: '2034-03-03',
    start_time: '10:00', end_time: '11:00', price: 10 });
  A.note = await as(a, 'POST', '/session_notes', { patient_id: A.patient.id, content: `${m}notatka z sesji` });
  A.archivedNote = await as(a, 'POST', '/session_notes', { patient_id: A.patient.id, content: `${m}usunięta` });
  A.payment = await as(a, 'POST', '/payments', { patient_id: A.patient.id, amount: 150, payment_method: 'CASH',
    appointment_ids: [A.appointment.id], description: `${m}opis`, payment_date: '2034-03-01' });
  A.series = await as(a, 'POST', '/appointment_series', { patient_id: A.patient.id, start_date: '2034-04-03',
    start_time: '09:00', end_time: '09:50', price: 120, count: 3 });
  A.feed = await as(a, 'POST', '/calendar_feed');
  await as(a, 'DELETE', `/patients/${A.archivedPatient.id}`);
  await as(a, 'DELETE', `/appointments/${A.archivedAppointment.id}`);
  await as(a, 'DELETE', `/session_notes/${A.archivedNote.id}`);

  B.patient = await as(b, 'POST', '/patients', { name: 'Pacjent B' });
  B.appointment = await as(b, 'POST', '/appointments', { patient_id: B.patient.id, date: '2034-03-01',
    start_time: '10:00', end_time: '11:00', price: 80 });
  B.unpaid = await as(b, 'POST', '/appointments', { patient_id: B.patient.id, date: '2034-03-05',
    start_time: '12:00', end_time: '13:00', price: 90 });
  B.note = await as(b, 'POST', '/session_notes', { patient_id: B.patient.id, content: 'notatka B' });
  B.payment = await as(b, 'POST', '/payments', { patient_id: B.patient.id, amount: 80, payment_method: 'TRANSFER',
    appointment_ids: [B.appointment.id], payment_date: '2034-03-01' });
});
after(async () => { await proxy?.stop(); });

const asB = (method, path, body) => proxy.call(method, path, { token: b.token, body });

// Asserts the answer B gets carries none of A's data.
function noLeak(r, what) {
  assert.ok(!r.text.includes(SECRET_MARK) && !r.text.includes('a-secret@example.com'),
    `${what} leaked A's data: ${r.text.slice(0, 300)}`);
}

const P = 'Pacjent nie został znaleziony';
const W = 'Wizyta nie została znaleziona';
const N = 'Notatka nie została znaleziona';
const Z = 'Płatność nie została znaleziona';
const S = 'Seria wizyt nie została znaleziona';

// Every (method, path pattern) of the API that takes an id, with the ids of A to try and the expected detail.
// The test below fails when openapi.json lists an id route that is missing here.
function idMatrix() {
  const patients = [A.patient.id, A.archivedPatient.id];
  const appointments = [A.appointment.id, A.unpaid.id, A.archivedAppointment.id];
  const notes = [A.note.id, A.archivedNote.id];
  return {
    'get /patients/{id}': { ids: patients, detail: P },
    'put /patients/{id}': { ids: patients, detail: P, body: { name: 'przejęty', notes: 'x' } },
    'delete /patients/{id}': { ids: patients, detail: P },
    'get /patients/{id}/export': { ids: patients, detail: P },   // the security branch's route, when merged
    'post /patients/{id}/restore': { ids: patients, detail: 'Nie znaleziono zarchiwizowanego pacjenta' },
    'get /appointments/{id}': { ids: appointments, detail: W },
    'put /appointments/{id}': { ids: appointments, detail: W, body: { price: 1, date: '2034-04-01' } },
    'delete /appointments/{id}': { ids: appointments, detail: W },
    'get /session_notes/{patient_id}': { ids: patients, detail: P },
    'delete /session_notes/{id}': { ids: notes, detail: N },
    'get /session_notes/note/{id}': { ids: notes, detail: N },
    'put /session_notes/note/{id}': { ids: notes, detail: N, body: { content: 'nadpisane' } },
    'get /payments/{id}': { ids: [A.payment.id], detail: Z },
    'patch /payments/{id}': { ids: [A.payment.id], detail: Z, body: { amount: 1, appointment_ids: [B.unpaid.id] } },
    'delete /payments/{id}': { ids: [A.payment.id], detail: Z },
    'get /payments/patient/{patient_id}/unpaid-appointments': { ids: patients, detail: P },
    'get /appointment_series/{id}': { ids: [A.series.id], detail: S },
    'patch /appointment_series/{id}': { ids: [A.series.id], detail: S, body: { from_date: '2034-04-03', price: 1 } },
    'delete /appointment_series/{id}': { ids: [A.series.id], detail: S },
    // Not an id: a guessed token answers as an unknown one (A's real one is a secret B cannot know).
    'get /calendar/{token}.ics': { ids: ['A'.repeat(43), 'x'], detail: 'Kalendarz nie został znaleziony' },
  };
}

test("every route with an id answers 404 for the other practice's rows, live or archived; nothing changes", async () => {
  const matrix = idMatrix();
  const routes = Object.entries(OPENAPI.paths).flatMap(([path, ops]) =>
    path.includes('{') ? Object.keys(ops).map((method) => `${method} ${path}`) : []);
  for (const route of routes) assert.ok(matrix[route], `${route} takes an id: add it to this matrix`);

  const before = practiceSnapshot(a.pid);
  let tried = 0;
  for (const route of routes) {
    const [method, pattern] = route.split(' ');
    const { ids, detail, body } = matrix[route];
    for (const id of ids) {
      const path = pattern.replace(/\{\w+\}/, String(id));
      const r = await asB(method.toUpperCase(), path, body);
      assert.equal(r.status, 404, `${method} ${path}: ${r.status} ${r.text}`);
      assert.equal(r.json?.detail, detail, `${method} ${path}`);
      noLeak(r, `${method} ${path}`);
      tried++;
    }
  }
  assert.ok(tried >= 28, `only ${tried} attempts`);
  assert.equal(practiceSnapshot(a.pid), before, "A's rows changed");
});

test("ids of the other practice inside bodies and query strings are refused like missing ones", async () => {
  const before = practiceSnapshot(a.pid);
  const bBefore = practiceSnapshot(b.pid);
  const cases = [
    ['POST', '/appointments', { patient_id: A.patient.id, date: '2034-05-01', start_time: '10:00',
      end_time: '11:00', price: 100 }, 404, P],
    ['PUT', `/appointments/${B.unpaid.id}`, { patient_id: A.patient.id }, 404, P],
    ['POST', '/session_notes', { patient_id: A.patient.id, content: 'x' }, 404, P],
    ['POST', '/payments', { patient_id: A.patient.id, amount: 999, payment_method: 'CASH',
      appointment_ids: [A.unpaid.id] }, 404, P],
    ['POST', '/payments', { patient_id: B.patient.id, amount: 999, payment_method: 'CASH',
      appointment_ids: [A.unpaid.id] }, 400, 'Niektóre wizyty nie istnieją lub nie należą do tego pacjenta'],
    ['POST', '/payments', { patient_id: B.patient.id, amount: 999, payment_method: 'CASH',
      appointment_ids: [B.unpaid.id, A.unpaid.id] }, 400, 'Niektóre wizyty nie istnieją lub nie należą do tego pacjenta'],
    ['PATCH', `/payments/${B.payment.id}`, { appointment_ids: [A.unpaid.id] }, 400,
      'Niektóre wizyty nie istnieją lub nie należą do tego pacjenta'],
    ['PATCH', `/payments/${B.payment.id}`, { appointment_ids: [B.appointment.id, A.appointment.id] }, 400,
      'Niektóre wizyty nie istnieją lub nie należą do tego pacjenta'],
  ];
  for (const [method, path, body, status, detail] of cases) {
    const r = await asB(method, path, body);
    assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${r.status} ${r.text}`);
    assert.equal(r.json?.detail, detail);
    noLeak(r, `${method} ${path}`);
  }
  assert.equal(practiceSnapshot(a.pid), before, "A's rows changed");
  assert.equal(practiceSnapshot(b.pid), bBefore, "B's rows changed by refused requests");
});

test('lists, filters, statistics, unpaid lists and the audit trail show only the own practice', async () => {
  const ownIds = async (path) => {
    const r = await asB('GET', path);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    noLeak(r, path);
    return r.json;
  };
  const ids = (rows) => rows.map((x) => x.id).sort((x, y) => x - y);
  assert.deepEqual(ids(await ownIds('/patients?limit=500')), [B.patient.id]);
  assert.deepEqual(ids(await ownIds('/appointments?limit=500')), [B.appointment.id, B.unpaid.id].sort((x, y) => x - y));
  assert.deepEqual(ids(await ownIds('/appointments?date_from=2034-03-01&date_to=2034-03-03')), [B.appointment.id]);
  assert.deepEqual(ids(await ownIds('/session_notes?limit=500')), [B.note.id]);
  assert.deepEqual(ids(await ownIds('/session_notes/?limit=500')), [B.note.id]);
  assert.deepEqual(ids(await ownIds(`/session_notes/${B.patient.id}`)), [B.note.id]);
  const payments = await ownIds('/payments?limit=500');
  assert.deepEqual(ids(payments.payments), [B.payment.id]);
  assert.equal(payments.total, 1);
  for (const q of [`patient_id=${A.patient.id}`, 'payment_method=CASH', 'date_from=2034-03-01&date_to=2034-03-01']) {
    const r = await ownIds(`/payments?${q}`);
    assert.ok(r.payments.every((x) => x.id === B.payment.id), q);
    assert.equal(r.total, r.payments.length, q);
  }
  const stats = await ownIds('/payments/statistics/summary');
  assert.deepEqual(stats, { total_payments: 1, total_amount: 80, cash_amount: 0, transfer_amount: 80,
    cash_count: 0, transfer_count: 1 });
  const statsDay = await ownIds('/payments/statistics/summary?date_from=2034-03-01&date_to=2034-03-01');
  assert.equal(statsDay.total_payments, 1);
  assert.deepEqual(await ownIds(`/payments/patient/${B.patient.id}/unpaid-appointments`), [B.unpaid.id]);

  // The audit trail: B's names only B's user and B's patients, also when asked for A's patient or user.
  const aUser = Number(decodeClaims(a.token).sub);
  const bUser = Number(decodeClaims(b.token).sub);
  const trail = await ownIds('/audit?limit=1000');
  assert.ok(trail.some((row) => row.patient_ids.includes(B.patient.id)), 'B sees its own trail');
  assert.ok(trail.every((row) => row.user_id === bUser), 'only B\'s user in B\'s trail');
  const aPatientIds = [A.patient.id, A.archivedPatient.id];
  assert.ok(trail.every((row) => row.patient_ids.every((id) => !aPatientIds.includes(id))), 'none of A\'s patients');
  assert.deepEqual(await ownIds(`/audit?patient_id=${A.patient.id}`), []);
  assert.deepEqual(await ownIds(`/audit?user_id=${aUser}`), []);
  const aTrail = await proxy.call('GET', `/audit?patient_id=${A.patient.id}`, { token: a.token });
  assert.ok(aTrail.json.length > 0 && aTrail.json.every((row) => row.user_id === aUser), 'A sees its own trail');

  // A still sees its own, so the lists above were empty of A's rows for the right reason.
  const aPatients = await proxy.call('GET', '/patients?limit=500', { token: a.token });
  assert.deepEqual(ids(aPatients.json), [A.patient.id]);
  const aStats = await proxy.call('GET', '/payments/statistics/summary', { token: a.token });
  assert.equal(aStats.json.total_amount, 150);
});
