// Scheduling end to end: status and cancellations, settings, recurring series (all or nothing, collisions
// listed in the body), appointment statistics and the public calendar feed (text/calendar, 404, 429).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack, expectError, newPractice, randomAddress } from './harness.mjs';

const stack = useStack('scheduling', { patientName: 'Zofia Wiśniewska' });
const call = (...args) => stack.call(...args);
const visit = (over = {}) => ({ patient_id: stack.patient.id, date: '2032-02-02', start_time: '10:00',
  end_time: '10:50', price: 180, ...over });
const series = (over = {}) => ({ patient_id: stack.patient.id, start_date: '2032-03-01', start_time: '12:00',
  end_time: '12:50', price: 150, count: 4, ...over });
const OVERLAP = 'Wizyta koliduje z inną wizytą w tym terminie';
const count = async (q) => (await call('GET', `/appointments?${q}&limit=1000`)).json.length;

test('an appointment is scheduled, then held, missed or cancelled with a reason', async () => {
  const a = (await call('POST', '/appointments', visit())).json;
  assert.equal(a.status, 'scheduled');
  assert.equal(a.cancel_reason, null);
  assert.equal(a.late_cancellation, false);
  assert.equal(a.series_id, null);
  for (const status of ['completed', 'no_show']) {
    const r = await call('PUT', `/appointments/${a.id}`, { status });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, status);
  }
  expectError(await call('PUT', `/appointments/${a.id}`, { status: 'done' }), 422);
  expectError(await call('PUT', `/appointments/${a.id}`, { status: 'cancelled' }), 422);
  expectError(await call('PUT', `/appointments/${a.id}`, { status: 'completed', cancel_reason: 'patient' }), 422);
  expectError(await call('PUT', `/appointments/${a.id}`, { status: 'cancelled', cancel_reason: 'pogoda' }), 422);
  assert.equal((await call('GET', `/appointments/${a.id}`)).json.status, 'no_show', 'refusals changed nothing');
  const c = await call('PUT', `/appointments/${a.id}`, { status: 'cancelled', cancel_reason: 'patient' });
  assert.equal(c.status, 200, c.text);
  assert.deepEqual([c.json.status, c.json.cancel_reason, c.json.late_cancellation], ['cancelled', 'patient', false]);
  // Its slot is free; it cannot come back while the slot is taken.
  const b = await call('POST', '/appointments', visit({ start_time: '10:15', end_time: '11:05' }));
  assert.equal(b.status, 200, b.text);
  expectError(await call('PUT', `/appointments/${a.id}`, { status: 'scheduled' }), 400, OVERLAP);
  // An on-time cancellation is not due: not unpaid, cannot be paid.
  const unpaid = (await call('GET', `/payments/patient/${stack.patient.id}/unpaid-appointments`)).json;
  assert.ok(!unpaid.includes(a.id) && unpaid.includes(b.json.id));
  expectError(await call('POST', '/payments', { patient_id: stack.patient.id, amount: 500, payment_method: 'CASH',
    appointment_ids: [a.id] }), 400, `Wizyty o ID [${a.id}] zostały odwołane bez opłaty i nie są należne`);
  // The list filters by status (comma-separated) and patient; unknown statuses answer 422.
  assert.equal(await count(`status=cancelled&patient_id=${stack.patient.id}&date_from=2032-02-02&date_to=2032-02-02`), 1);
  assert.equal(await count('status=cancelled,scheduled&date_from=2032-02-02&date_to=2032-02-02'), 2);
  expectError(await call('GET', '/appointments?status=usunieta'), 422);
});

test('a late cancellation by the patient is marked and stays due', async () => {
  const yesterday = new Date(Date.now() - 86400000).toISOString().slice(0, 10);
  const a = (await call('POST', '/appointments', visit({ date: yesterday, start_time: '06:00', end_time: '06:30' }))).json;
  const c = await call('PUT', `/appointments/${a.id}`, { status: 'cancelled', cancel_reason: 'patient' });
  assert.equal(c.json.late_cancellation, true, c.text);
  const unpaid = (await call('GET', `/payments/patient/${stack.patient.id}/unpaid-appointments`)).json;
  assert.ok(unpaid.includes(a.id));
  const stats = (await call('GET', `/statistics/appointments?date_from=${yesterday}&date_to=${yesterday}`)).json;
  assert.equal(stats.cancelled_late_count, 1);
  assert.equal(stats.late_cancellation_due, 180);
  expectError(await call('GET', '/statistics/appointments?date_to=jutro'), 422);
});

test('settings: late_cancel_hours 0..168, timezone Europe/Warsaw', async () => {
  assert.deepEqual((await call('GET', '/settings')).json, { late_cancel_hours: 24, timezone: 'Europe/Warsaw' });
  const r = await call('PUT', '/settings', { late_cancel_hours: 48 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.late_cancel_hours, 48);
  for (const body of [{ late_cancel_hours: 169 }, { late_cancel_hours: -1 }, { late_cancel_hours: 'x' }, { timezone: 'UTC' }])
    expectError(await call('PUT', '/settings', body), 422);
  expectError(await call('PUT', '/settings', '[1]'), 422);
  assert.equal((await call('GET', '/settings')).json.late_cancel_hours, 48);
  await call('PUT', '/settings', { late_cancel_hours: 24 });
});

test('a series books every date or none, and lists every collision', async () => {
  const preview = await call('POST', '/appointment_series', series({ start_date: '2032-03-22', skip_holidays: true, dry_run: true }));
  assert.equal(preview.status, 200, preview.text);
  // Easter Monday 2032 is 29 March: skipped, not counted.
  assert.deepEqual(preview.json.dates, ['2032-03-22', '2032-04-05', '2032-04-12', '2032-04-19']);
  assert.deepEqual(preview.json.skipped_holidays, [{ date: '2032-03-29', name: 'Poniedziałek Wielkanocny' }]);
  assert.equal(await count('date_from=2032-03-22&date_to=2032-04-30'), 0, 'a preview books nothing');
  const made = await call('POST', '/appointment_series', series({ start_date: '2032-03-22', skip_holidays: true }));
  assert.equal(made.status, 201, made.text);
  assert.equal(made.json.interval_weeks, 1);
  assert.deepEqual(made.json.appointments.map((a) => a.date), preview.json.dates);
  assert.ok(made.json.appointments.every((a) => a.series_id === made.json.id));
  // Another series over two of those dates: 400 with both, nothing booked.
  const clash = await call('POST', '/appointment_series', series({ start_date: '2032-03-29', start_time: '12:30',
    end_time: '13:20', interval_weeks: 2, count: 3 }));
  expectError(clash, 400, 'Wizyty kolidują z innymi wizytami w dniach: 2032-04-12');
  assert.deepEqual(clash.json.conflicts, ['2032-04-12']);
  const clash2 = await call('POST', '/appointment_series', series({ start_date: '2032-04-05', start_time: '12:30',
    end_time: '13:20', count: 3 }));
  assert.deepEqual(clash2.json.conflicts, ['2032-04-05', '2032-04-12', '2032-04-19']);
  assert.equal(await count('date_from=2032-03-22&date_to=2032-05-30'), 4);
  const got = await call('GET', `/appointment_series/${made.json.id}`);
  assert.equal(got.json.appointments.length, 4);
  // This and following: from 12 April one hour later.
  const moved = await call('PATCH', `/appointment_series/${made.json.id}`, { from_date: '2032-04-12', start_time: '13:00',
    end_time: '13:50', price: 160 });
  assert.equal(moved.status, 200, moved.text);
  assert.deepEqual(moved.json.appointments.map((a) => `${a.date} ${a.start_time} ${a.price}`),
    ['2032-03-22 12:00:00 150', '2032-04-05 12:00:00 150', '2032-04-12 13:00:00 160', '2032-04-19 13:00:00 160']);
  await call('POST', '/appointments', visit({ date: '2032-04-19', start_time: '14:00', end_time: '14:30' }));
  const blocked = await call('PATCH', `/appointment_series/${made.json.id}`, { from_date: '2032-04-05', start_time: '13:30', end_time: '14:20' });
  assert.equal(blocked.status, 400, blocked.text);
  assert.deepEqual(blocked.json.conflicts, ['2032-04-19']);
  assert.equal((await call('GET', `/appointment_series/${made.json.id}`)).json.appointments[1].start_time, '12:00:00');
  expectError(await call('PATCH', `/appointment_series/${made.json.id}`, { from_date: '2032-05-01', price: 1 }), 422);
  expectError(await call('PATCH', `/appointment_series/${made.json.id}`, { price: 1 }), 422);
  // Cancelling from a date: the therapist's cancellation, the slots free again.
  const cancelled = await call('DELETE', `/appointment_series/${made.json.id}?from=2032-04-12`);
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(cancelled.json.cancelled, 2);
  expectError(await call('DELETE', `/appointment_series/${made.json.id}?from=2032-06-01`), 422);
  expectError(await call('DELETE', `/appointment_series/${made.json.id}?from=jutro`), 422);
  const after = (await call('GET', `/appointment_series/${made.json.id}`)).json.appointments;
  assert.deepEqual(after.map((a) => [a.status, a.cancel_reason]),
    [['scheduled', null], ['scheduled', null], ['cancelled', 'therapist'], ['cancelled', 'therapist']]);
});

test('series refusals answer 4xx with a Polish detail and book nothing', async () => {
  const before = await count('date_from=2033-01-01&date_to=2034-12-31');
  for (const over of [{ count: 53 }, { count: 0 }, { count: undefined }, { until: '2033-01-01' },
    { count: undefined, until: '2032-12-31' }, { count: undefined, until: '2034-01-05' }, { interval_weeks: 5 },
    { skip_holidays: 'tak' }, { start_date: undefined }, { end_time: '11:00' }, { price: 0 }])
    expectError(await call('POST', '/appointment_series', series({ start_date: '2033-01-03', ...over })), 422);
  expectError(await call('POST', '/appointment_series', series({ start_date: '2033-01-03', patient_id: 99999999 })), 404,
    'Pacjent nie został znaleziony');
  expectError(await call('POST', '/appointment_series', '{"patient_id":'), 422);
  expectError(await call('GET', '/appointment_series/99999999'), 404, 'Seria wizyt nie została znaleziona');
  expectError(await call('GET', '/appointment_series/abc'), 422);
  assert.equal(await count('date_from=2033-01-01&date_to=2034-12-31'), before);
  // Another practice's series and patient are not found.
  const mine = (await call('POST', '/appointment_series', series({ start_date: '2033-02-07', count: 2 }))).json;
  const other = await newPractice(stack.proxy, 'scheduling-other');
  const as = (method, path, body) => stack.proxy.call(method, path, { token: other.token, body });
  expectError(await as('GET', `/appointment_series/${mine.id}`), 404);
  expectError(await as('PATCH', `/appointment_series/${mine.id}`, { from_date: '2033-02-07', price: 1 }), 404);
  expectError(await as('DELETE', `/appointment_series/${mine.id}`), 404);
  expectError(await as('POST', '/appointment_series', series({ start_date: '2033-03-07' })), 404);
  assert.equal((await call('GET', `/appointment_series/${mine.id}`)).json.appointments.every((a) => a.status === 'scheduled'), true);
});

test('the calendar feed: text/calendar with initials only, rotated and revoked, throttled', async () => {
  const inWeek = new Date(Date.now() + 7 * 86400000).toISOString().slice(0, 10);
  await call('POST', '/appointments', visit({ date: inWeek, start_time: '08:00', end_time: '08:50' }));
  const made = await call('POST', '/calendar_feed');
  assert.equal(made.status, 200, made.text);
  assert.match(made.json.url, /^\/calendar\/[A-Za-z0-9_-]{43}\.ics$/);
  assert.equal((await call('GET', '/calendar_feed')).json.enabled, true);
  const feed = await stack.proxy.call('GET', made.json.url);
  assert.equal(feed.status, 200, feed.text);
  assert.equal(feed.headers.get('content-type'), 'text/calendar; charset=utf-8');
  assert.ok(feed.text.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\n'));
  assert.ok(feed.text.endsWith('END:VCALENDAR\r\n'));
  assert.ok(feed.text.split('\r\n').every((l) => Buffer.byteLength(l) <= 75));
  assert.match(feed.text, /SUMMARY:Z\. W\.\r\n/);
  assert.match(feed.text, new RegExp(`DTSTART;TZID=Europe/Warsaw:${inWeek.replaceAll('-', '')}T080000`));
  assert.doesNotMatch(feed.text, /Zofia|Wiśniewska|180/);
  // A new link replaces the old; turning it off ends both. Unknown tokens are 404 JSON.
  const rotated = (await call('POST', '/calendar_feed')).json.url;
  expectError(await stack.proxy.call('GET', made.json.url), 404, 'Kalendarz nie został znaleziony');
  assert.equal((await stack.proxy.call('GET', rotated)).status, 200);
  assert.equal((await call('DELETE', '/calendar_feed')).status, 200);
  expectError(await stack.proxy.call('GET', rotated), 404);
  assert.equal((await call('GET', '/calendar_feed')).json.enabled, false);
  expectError(await call('GET', '/calendar/abc'), 404);
  // Guessing from one address: after 10 failures in 15 minutes, 429 with Retry-After, even for a valid token.
  const valid = (await call('POST', '/calendar_feed')).json.url;
  const guesser = { headers: { 'x-real-ip': randomAddress() } };
  for (let i = 0; i < 10; i++)
    expectError(await stack.proxy.call('GET', `/calendar/${'x'.repeat(43)}.ics`, guesser), 404);
  const refused = await stack.proxy.call('GET', valid, guesser);
  expectError(refused, 429);
  assert.match(refused.headers.get('retry-after'), /^[0-9]+$/);
  assert.equal((await stack.proxy.call('GET', valid)).status, 200, 'another address is not throttled');
  // Each fetch is in the audit trail.
  const audit = (await call('GET', '/audit?action=read&limit=1000')).json;
  assert.ok(audit.some((e) => e.route === 'GET /calendar/{token}.ics'), JSON.stringify(audit.slice(0, 3)));
});
