// The original TherapyAssistance SPA (michnaadam33/therapyassistance, frontend/) as a client: requests shaped
// the way its axios client and pages put them on the wire (read from its src/services/api.ts and pages; none
// of its code is here), and the fields it reads from the answers. Issue 14: a therapist's whole day in that
// SPA must meet no error status, so any answer outside 2xx fails the day.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Proxy, expectError, newPractice, warsawDay } from './harness.mjs';

let proxy;
before(async () => { proxy = await Proxy.start(); });
after(async () => { await proxy?.stop(); });

// What that SPA sends: JSON bodies (JSON.stringify, so undefined members vanish) with Content-Type
// application/json, login as multipart form fields, axios' Accept header, the token as a Bearer header, and
// query parameters from an object (undefined ones left out). Every answer must be 2xx: the SPA shows a toast
// with `detail` for anything else, and logs the user out on 401.
function originalSpa() {
  const spa = { token: undefined };
  spa.send = async (method, path, { json, form, params } = {}) => {
    const headers = { accept: 'application/json, text/plain, */*' };
    let body;
    if (json !== undefined) {
      body = JSON.stringify(json);
      headers['content-type'] = 'application/json';
    } else if (form) {
      body = form;
    }
    const query = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined)).toString() : '';
    const r = await proxy.call(method, path + (query ? `?${query}` : ''), { token: spa.token, body, headers });
    assert.ok(r.status >= 200 && r.status < 300,
      `the original SPA would show an error: ${method} ${path} answered ${r.status} ${r.text}`);
    return r.json;
  };
  return spa;
}

// The SPA formats dates with date-fns in the browser's zone; a therapist's browser is in Warsaw.
const WARSAW_MINUTE = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Warsaw', year: 'numeric', month: '2-digit',
  day: '2-digit', hour: '2-digit', minute: '2-digit' });
// format(new Date(x), "yyyy-MM-dd'T'HH:mm"): what its payment form holds and sends back (datetime-local).
const warsawLocalMinute = (x) => WARSAW_MINUTE.format(new Date(x)).replace(' ', 'T');

const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$/;
const DAY = /^\d{4}-\d\d-\d\d$/;
const CLOCK = /^\d\d:\d\d:\d\d$/;

// The fields its pages read, with the types they compute with (prices and amounts are added up as numbers;
// `new Date(date + " " + start_time)` and `start_time.slice(0, 5)` need these formats).
function readsPatient(p) {
  for (const k of ['id', 'name', 'phone', 'email', 'notes', 'created_at']) assert.ok(k in p, `Patient.${k}`);
  assert.match(p.created_at, ISO_INSTANT);
}
function readsAppointment(a) {
  for (const k of ['id', 'patient_id', 'date', 'start_time', 'end_time', 'session_note_id', 'is_paid', 'price',
    'created_at']) assert.ok(k in a, `Appointment.${k}`);
  assert.match(a.date, DAY);
  assert.match(a.start_time, CLOCK);
  assert.match(a.end_time, CLOCK);
  assert.equal(typeof a.price, 'number');
  assert.equal(typeof a.is_paid, 'boolean');
}
function readsPayment(p) {
  for (const k of ['id', 'patient_id', 'amount', 'payment_method', 'description', 'payment_date', 'created_at',
    'updated_at', 'appointments', 'patient_name', 'patient_email', 'patient_phone']) assert.ok(k in p, `Payment.${k}`);
  assert.equal(typeof p.amount, 'number');
  assert.match(p.payment_date, ISO_INSTANT);
  assert.ok(!Number.isNaN(Date.parse(p.payment_date)));
  for (const a of p.appointments) {
    for (const k of ['id', 'patient_id', 'date', 'start_time', 'end_time', 'is_paid', 'price']) assert.ok(k in a);
    assert.equal(typeof a.price, 'number');
  }
}
const readsNote = (n) => { for (const k of ['id', 'patient_id', 'content', 'created_at']) assert.ok(k in n); };

test("a therapist's whole day in the original SPA meets no error status", async () => {
  const spa = originalSpa();
  const email = `dzien-${randomBytes(5).toString('hex')}@example.com`;
  const password = 'bezpieczne-haslo-1';

  // Register, then log in (multipart form: username, password).
  const user = await spa.send('POST', '/auth/register', { json: { email, password } });
  assert.equal(user.email, email);
  assert.ok(user.id && user.created_at);
  const form = new FormData();
  form.append('username', email);
  form.append('password', password);
  const auth = await spa.send('POST', '/auth/login', { form });
  assert.equal(auth.token_type, 'bearer');
  spa.token = auth.access_token;

  // Dashboard.
  assert.deepEqual(await spa.send('GET', '/patients'), []);
  assert.deepEqual(await spa.send('GET', '/appointments'), []);

  // Patients: the form trims and sends empty optional fields as undefined (left out).
  const anna = await spa.send('POST', '/patients', { json: { name: 'Anna Nowak', phone: '600 100 200',
    email: 'anna.nowak@example.com', notes: 'Pierwsza konsultacja' } });
  readsPatient(anna);
  const jan = await spa.send('POST', '/patients', { json: { name: 'Jan Wiśniewski', phone: undefined, email: undefined,
    notes: undefined } });
  readsPatient(jan);
  assert.equal(jan.phone, null);
  readsPatient(await spa.send('GET', `/patients/${anna.id}`));
  const edited = await spa.send('PUT', `/patients/${anna.id}`, { json: { name: 'Anna Nowak', phone: '600 100 201',
    email: 'anna.nowak@example.com', notes: 'Pierwsza konsultacja' } });
  assert.equal(edited.phone, '600 100 201');

  // The calendar's appointment form: it loads patients and notes, sends the <select>'s patient id as a string,
  // times with ":00", is_paid false and the price as a number.
  await spa.send('GET', '/patients');
  assert.deepEqual(await spa.send('GET', '/session_notes/'), []);
  const book = (patient, date, start, end, price) => spa.send('POST', '/appointments', { json: {
    patient_id: String(patient.id), date, start_time: `${start}:00`, end_time: `${end}:00`, session_note_id: undefined,
    is_paid: false, price: Number(price) } });
  const a1 = await book(anna, '2033-03-14', '09:00', '09:50', '180');
  const a2 = await book(anna, '2033-03-21', '09:00', '09:50', '180');
  const a3 = await book(anna, '2033-03-28', '09:00', '09:50', '200.50');
  const j1 = await book(jan, '2033-03-14', '10:00', '10:50', '150');
  for (const a of [a1, a2, a3, j1]) readsAppointment(a);
  assert.equal(a3.price, 200.5);
  assert.equal(a1.is_paid, false);

  // The appointments list: a quick session note for a1, then linked to it.
  const list = await spa.send('GET', '/appointments');
  assert.equal(list.length, 4);
  list.forEach(readsAppointment);
  await spa.send('GET', '/patients');
  const note = await spa.send('POST', '/session_notes', { json: { patient_id: anna.id,
    content: 'Sesja pierwsza: omówienie celów terapii.' } });
  readsNote(note);
  const linked = await spa.send('PUT', `/appointments/${a1.id}`, { json: { session_note_id: note.id } });
  assert.equal(linked.session_note_id, note.id);
  readsNote(await spa.send('GET', `/session_notes/note/${note.id}`));
  const rewritten = await spa.send('PUT', `/session_notes/note/${note.id}`, { json: {
    content: 'Sesja pierwsza: omówienie celów terapii i kontraktu.' } });
  assert.match(rewritten.content, /kontraktu/);

  // Notes page and the patient card.
  assert.equal((await spa.send('GET', '/session_notes/')).length, 1);
  await spa.send('GET', `/patients/${anna.id}`);
  await spa.send('GET', '/appointments');
  assert.equal((await spa.send('GET', `/session_notes/${anna.id}`)).length, 1);
  const card = await spa.send('GET', '/payments/', { params: { patient_id: anna.id } });
  assert.deepEqual(card, { total: 0, payments: [] });

  // "Opłać" on a1: a payment of its price, dated new Date().toISOString().
  const paidAt = new Date().toISOString();
  const quick = await spa.send('POST', '/payments/', { json: { patient_id: a1.patient_id, amount: a1.price,
    payment_method: 'CASH', appointment_ids: [a1.id], payment_date: paidAt, description: 'Płatność za wizytę 14.03.2033' } });
  readsPayment(quick);
  assert.equal(Date.parse(quick.payment_date), Date.parse(paidAt), 'the time of the payment is kept, to the millisecond');
  assert.equal(quick.appointments[0].is_paid, true);

  // The payment form for a2 and a3: unpaid ids of the patient, the sum as the amount, the form's
  // datetime-local value (Warsaw wall clock, no seconds, no offset) and an empty description.
  await spa.send('GET', '/patients');
  await spa.send('GET', '/appointments');
  const unpaid = await spa.send('GET', `/payments/patient/${anna.id}/unpaid-appointments`);
  assert.deepEqual(unpaid, [a2.id, a3.id]);
  const formDate = warsawLocalMinute(Date.now());
  const transfer = await spa.send('POST', '/payments/', { json: { patient_id: anna.id, amount: a2.price + a3.price,
    payment_method: 'TRANSFER', appointment_ids: [a2.id, a3.id], payment_date: formDate, description: '' } });
  readsPayment(transfer);
  assert.equal(transfer.amount, 380.5);
  assert.equal(warsawLocalMinute(transfer.payment_date), formDate, 'shown again as the minute the therapist entered');

  // The payments page: list, patients, statistics; then its date filters (type="date" inputs).
  const all = await spa.send('GET', '/payments/', { params: {} });
  assert.equal(all.total, 2);
  all.payments.forEach(readsPayment);
  await spa.send('GET', '/patients');
  const stats = await spa.send('GET', '/payments/statistics/summary', { params: {} });
  assert.deepEqual(stats, { total_payments: 2, total_amount: 560.5, cash_amount: 180, transfer_amount: 380.5,
    cash_count: 1, transfer_count: 1 });
  const day = warsawDay(transfer.payment_date);
  const filtered = await spa.send('GET', '/payments/', { params: { date_from: day, date_to: day } });
  assert.ok(filtered.payments.some((p) => p.id === transfer.id));
  const dayStats = await spa.send('GET', '/payments/statistics/summary', { params: { date_from: day, date_to: day } });
  assert.ok(dayStats.total_payments >= 1);

  // Payment detail, then its edit form, which sends every field back, the date as it showed it.
  readsPayment(await spa.send('GET', `/payments/${transfer.id}`));
  await spa.send('GET', '/patients');
  await spa.send('GET', '/appointments');
  const shown = await spa.send('GET', `/payments/${transfer.id}`);
  const patched = await spa.send('PATCH', `/payments/${transfer.id}`, { json: { patient_id: shown.patient_id,
    amount: shown.amount, payment_method: shown.payment_method, appointment_ids: shown.appointments.map((a) => a.id),
    payment_date: warsawLocalMinute(shown.payment_date), description: 'Przelew za dwie sesje' } });
  readsPayment(patched);
  assert.equal(patched.description, 'Przelew za dwie sesje');
  assert.equal(warsawLocalMinute(patched.payment_date), warsawLocalMinute(shown.payment_date),
    'editing a payment keeps its time');

  // Edits in the calendar: a paid visit moved an hour later (the form sends is_paid: false and the patient id
  // set by setValue, a number), an unpaid one repriced.
  const moved = await spa.send('PUT', `/appointments/${a2.id}`, { json: { patient_id: anna.id, date: a2.date,
    start_time: '10:00:00', end_time: '10:50:00', session_note_id: undefined, is_paid: false, price: a2.price } });
  assert.equal(moved.start_time, '10:00:00');
  assert.equal(moved.is_paid, true, 'still paid: its payment links it');
  const repriced = await spa.send('PUT', `/appointments/${j1.id}`, { json: { patient_id: jan.id, date: j1.date,
    start_time: '10:00:00', end_time: '11:00:00', is_paid: false, price: 160 } });
  assert.equal(repriced.price, 160);

  // Deletes: a paid visit (its payment keeps the amount and no longer lists it), a note, a payment.
  assert.deepEqual(await spa.send('DELETE', `/appointments/${a3.id}`), { detail: 'Wizyta została usunięta' });
  const kept = await spa.send('GET', `/payments/${transfer.id}`);
  assert.equal(kept.amount, 380.5);
  assert.deepEqual(kept.appointments.map((a) => a.id), [a2.id]);
  assert.equal((await spa.send('GET', '/appointments')).length, 3);
  await spa.send('DELETE', `/session_notes/${note.id}`);
  assert.equal((await spa.send('GET', `/appointments/${a1.id}`)).session_note_id, null);
  await spa.send('DELETE', `/payments/${quick.id}`);
  assert.deepEqual(await spa.send('GET', `/payments/patient/${anna.id}/unpaid-appointments`), [a1.id]);

  // The patient card's delete: Anna leaves every list and the statistics, her payment with her.
  await spa.send('DELETE', `/patients/${anna.id}`);
  assert.deepEqual((await spa.send('GET', '/patients')).map((p) => p.id), [jan.id]);
  assert.deepEqual((await spa.send('GET', '/appointments')).map((a) => a.id), [j1.id]);
  assert.equal((await spa.send('GET', '/payments/')).total, 0);
  assert.equal((await spa.send('GET', '/payments/statistics/summary')).total_amount, 0);
  assert.deepEqual(await spa.send('GET', '/session_notes/'), []);

  // Beyond the original: the undo of our SPA brings her back with what was archived with her.
  readsPatient(await spa.send('POST', `/patients/${anna.id}/restore`));
  assert.equal((await spa.send('GET', '/payments/')).total, 1);
  assert.equal((await spa.send('GET', '/payments/statistics/summary')).total_amount, 380.5);
  assert.deepEqual((await spa.send('GET', '/appointments')).map((a) => a.id).sort((x, y) => x - y),
    [a1.id, a2.id, j1.id].sort((x, y) => x - y));
});

test('payment_date: an instant in, ISO 8601 with an offset out; naive means Warsaw, a date its midnight', async () => {
  const { token } = await newPractice(proxy, 'daty');
  const call = (method, path, body) => proxy.call(method, path, { token, body });
  const p = (await call('POST', '/patients', { name: 'Daty' })).json;
  let n = 1;
  const pay = async (payment_date) => {
    const a = (await call('POST', '/appointments', { patient_id: p.id, date: `2034-02-${String(n++).padStart(2, '0')}`,
      start_time: '08:00', end_time: '08:50', price: 100 })).json;
    return call('POST', '/payments', { patient_id: p.id, amount: 100, payment_method: 'CASH', appointment_ids: [a.id],
      payment_date });
  };
  const cases = [
    ['2026-12-01T07:08:51.958Z', '2026-12-01T07:08:51.958Z'],
    ['2026-12-01T08:08', '2026-12-01T07:08:00.000Z'],       // naive: Warsaw, winter (UTC+1)
    ['2026-07-01T08:08:30', '2026-07-01T06:08:30.000Z'],    // naive: Warsaw, summer (UTC+2)
    ['2026-12-01', '2026-11-30T23:00:00.000Z'],              // a date: 00:00 Warsaw
    ['2026-12-01T12:00:00+05:30', '2026-12-01T06:30:00.000Z'],
  ];
  for (const [sent, instant] of cases) {
    const r = await pay(sent);
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.payment_date, ISO_INSTANT);
    assert.equal(new Date(r.json.payment_date).toISOString(), instant, `payment_date ${sent}`);
  }
  for (const bad of ['2026-12-01T25:00', '2026-02-30', '01.12.2026', '2026-12-01T08:00+15:00', 20261201]) {
    expectError(await pay(bad), 422);
  }
  // The Warsaw day 2026-12-01 runs from 2026-11-30T23:00Z to 2026-12-01T23:00Z.
  const r = await call('GET', '/payments?date_from=2026-12-01&date_to=2026-12-01');
  assert.equal(r.json.total, 4);
  const stats = await call('GET', '/payments/statistics/summary?date_from=2026-11-30&date_to=2026-11-30');
  assert.equal(stats.json.total_payments, 0);
});

test('POST /patients/{id}/restore: only an archived patient of this practice, never half', async () => {
  const { token } = await newPractice(proxy, 'przywracanie');
  const other = await newPractice(proxy, 'obca');
  const call = (method, path, body, t = token) => proxy.call(method, path, { token: t, body });
  const p = (await call('POST', '/patients', { name: 'Do przywrócenia' })).json;
  const theirs = (await call('POST', '/patients', { name: 'Cudzy' }, other.token)).json;
  const a = (await call('POST', '/appointments', { patient_id: p.id, date: '2034-05-05', start_time: '12:00',
    end_time: '12:50', price: 120 })).json;
  const NOT_ARCHIVED = 'Nie znaleziono zarchiwizowanego pacjenta';
  expectError(await call('POST', `/patients/${p.id}/restore`), 404, NOT_ARCHIVED);
  assert.equal((await call('DELETE', `/patients/${theirs.id}`, undefined, other.token)).status, 200);
  expectError(await call('POST', `/patients/${theirs.id}/restore`), 404, NOT_ARCHIVED);
  expectError(await call('POST', '/patients/999999999/restore'), 404, NOT_ARCHIVED);
  expectError(await call('POST', '/patients/abc/restore'), 422);
  expectError(await proxy.call('POST', `/patients/${p.id}/restore`), 401);
  const wrong = await call('GET', `/patients/${p.id}/restore`);
  assert.equal(wrong.status, 405);
  assert.match(wrong.headers.get('allow'), /POST/);

  // Archived, its slot booked meanwhile: refused with the day, nothing restored.
  assert.equal((await call('DELETE', `/patients/${p.id}`)).status, 200);
  const q = (await call('POST', '/patients', { name: 'Nowa w tym terminie' })).json;
  const taken = (await call('POST', '/appointments', { patient_id: q.id, date: '2034-05-05', start_time: '12:30',
    end_time: '13:00', price: 90 })).json;
  expectError(await call('POST', `/patients/${p.id}/restore`), 400,
    'Nie można przywrócić pacjenta: jego wizyty kolidują z innymi wizytami w dniach: 2034-05-05');
  expectError(await call('GET', `/patients/${p.id}`), 404);
  expectError(await call('GET', `/appointments/${a.id}`), 404);
  assert.equal((await call('DELETE', `/appointments/${taken.id}`)).status, 200);
  const back = await call('POST', `/patients/${p.id}/restore/`);
  assert.equal(back.status, 200, back.text);
  assert.equal(back.json.name, 'Do przywrócenia');
  assert.equal((await call('GET', `/appointments/${a.id}`)).status, 200);
  expectError(await call('POST', `/patients/${p.id}/restore`), 404, NOT_ARCHIVED);
});
