// Reminders and password reset over HTTP (issue 17): the routes, their statuses and Polish messages.
// What the notifier sends is tested against real servers in notifier/test/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy, newPractice, expectError, randomAddress } from './harness.mjs';

let proxy;
let a;
before(async () => {
  proxy = await Proxy.start();
  a = await newPractice(proxy, 'remind');
});
after(async () => { await proxy?.stop(); });

const as = (method, path, body) => proxy.call(method, path, { token: a.token, body });
const reset = (body, from = randomAddress()) =>
  proxy.call('POST', '/auth/password-reset', { body, headers: { 'X-Real-IP': from } });

test('GET/PUT /settings/reminders: defaults, a change, and bad input as Polish 422s', async () => {
  const got = await as('GET', '/settings/reminders');
  assert.equal(got.status, 200, got.text);
  assert.equal(got.json.hours_before, 24);
  assert.equal(got.json.email_enabled, false);
  assert.deepEqual(got.json.placeholders, ['{data}', '{godzina}', '{gabinet}']);
  const put = await as('PUT', '/settings/reminders', { email_enabled: true, hours_before: 48, practice_name: 'Gabinet Ósemka' });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.hours_before, 48);
  assert.equal(put.json.practice_name, 'Gabinet Ósemka');
  expectError(await as('PUT', '/settings/reminders', { hours_before: 73 }), 422,
    'Przypomnienie można wysłać od 1 do 72 godzin przed wizytą');
  expectError(await as('PUT', '/settings/reminders', { sms_body: 'Wizyta {data} {pacjent}' }), 422,
    'Nieznany znacznik {pacjent} w polu sms_body: dozwolone są tylko {data}, {godzina} i {gabinet}');
  expectError(await as('PUT', '/settings/reminders', { sms_body: 'x'.repeat(150) + ' {gabinet}' }), 422,
    'SMS po wstawieniu daty, godziny i nazwy gabinetu może mieć najwyżej 160 znaków');
  expectError(await proxy.call('GET', '/settings/reminders'), 401);
});

test('consent on the patient: needs an address, is stamped, and writes a reminder in the same request', async () => {
  expectError(await as('POST', '/patients', { name: 'Bez Maila', reminder_email: true }), 422,
    'Zgoda na przypomnienia e-mail wymaga adresu e-mail pacjenta');
  const p = await as('POST', '/patients', { name: 'Z Mailem', email: 'z.mailem@example.com', reminder_email: true });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.reminder_email, true);
  assert.ok(p.json.reminder_email_changed_at);
  const appt = await as('POST', '/appointments', { patient_id: p.json.id, date: '2031-06-02', start_time: '10:00',
    end_time: '10:50', price: 100 });
  assert.equal(appt.status, 200, appt.text);
  const list = await as('GET', '/reminders?status=pending');
  assert.equal(list.status, 200, list.text);
  const mine = list.json.filter((r) => r.appointment_id === appt.json.id);
  assert.equal(mine.length, 1);
  assert.equal(mine[0].channel, 'email');
  assert.equal(new Date(mine[0].starts_at) - new Date(mine[0].send_at), 48 * 3600 * 1000);
  assert.equal((await as('DELETE', `/appointments/${appt.json.id}`)).status, 200);
  const after = await as('GET', '/reminders?status=cancelled');
  assert.ok(after.json.some((r) => r.id === mine[0].id));
  expectError(await as('GET', '/reminders?status=wyslane'), 422);
});

test('POST /settings/reminders/test answers 202', async () => {
  const r = await as('POST', '/settings/reminders/test', {});
  assert.equal(r.status, 202, r.text);
  assert.equal(typeof r.json.id, 'number');
});

test('POST /auth/password-reset: the same 202 for a known and an unknown address; 422 for a malformed one', async () => {
  const known = await reset({ email: a.email });
  const unknown = await reset({ email: 'nikogo-takiego@example.com' });
  assert.equal(known.status, 202, known.text);
  assert.equal(unknown.status, 202, unknown.text);
  assert.equal(known.text, unknown.text);
  assert.equal(known.json.detail, 'Jeśli konto istnieje, wysłaliśmy wiadomość z linkiem do zmiany hasła');
  expectError(await reset({ email: 'zly@' }), 422, 'Nieprawidłowy adres email');
  expectError(await reset({ email: 'a'.repeat(260) + '@example.com' }), 422);
});

test('POST /auth/password-reset: 10 an hour from one address, then 429 with Retry-After', async () => {
  const from = randomAddress();
  for (let i = 0; i < 10; i++) assert.equal((await reset({ email: `x${i}@example.com` }, from)).status, 202);
  const r = await reset({ email: 'x@example.com' }, from);
  expectError(r, 429);
  assert.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
});

test('POST /auth/password-reset/confirm: an unknown token is 400, a short password 422', async () => {
  expectError(await proxy.call('POST', '/auth/password-reset/confirm', { body: { token: 'f'.repeat(64), new_password: 'dlugie-haslo' } }),
    400, 'Link do zmiany hasła jest nieprawidłowy, wygasł lub został już użyty');
  expectError(await proxy.call('POST', '/auth/password-reset/confirm', { body: { token: 'f'.repeat(64), new_password: 'krotk' } }),
    422, 'Hasło musi mieć co najmniej 8 znaków');
});
