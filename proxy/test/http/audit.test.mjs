// The audit trail over HTTP: one row per request on patient data (who, what, which patients, from where),
// GET /audit with its filters, GET /patients/{id}/export, and where the client address comes from.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { Proxy, newPractice, expectError, decodeClaims, today } from './harness.mjs';

let proxy;
let a;
let b;
let as;
before(async () => {
  proxy = await Proxy.start();
  a = await newPractice(proxy, 'audit-a');
  b = await newPractice(proxy, 'audit-b');
  as = (method, path, body, headers) => proxy.call(method, path, { token: a.token, body, headers });
});
after(async () => { await proxy?.stop(); });

const newest = async (token = a.token) => {
  const r = await proxy.call('GET', '/audit?limit=1', { token });
  assert.equal(r.status, 200, r.text);
  return r.json[0];
};
const created = (r) => {
  assert.ok(r.status === 200 || r.status === 201, r.text);
  return r.json;
};

test('every route on patient data appends one row naming the patients it returned or changed', async () => {
  const p1 = created(await as('POST', '/patients', { name: 'Audyt Jeden' })).id;
  const p2 = created(await as('POST', '/patients', { name: 'Audyt Dwa' })).id;
  const ids = {};
  const appointment = (patient, start) => ({ patient_id: patient, date: '2031-05-05', start_time: start,
    end_time: start.replace(':00', ':50'), price: 150 });
  // [method, path and body (functions where they need ids made along the way), action, patients, the route's pattern,
  //  keep the answer's id as]
  const steps = [
    ['GET', () => '/patients', undefined, 'read', [p1, p2], '/patients'],
    ['GET', () => `/patients/${p1}`, undefined, 'read', [p1], '/patients/{id}'],
    ['PUT', () => `/patients/${p1}`, { phone: '600 100 200' }, 'update', [p1], '/patients/{id}'],
    ['POST', () => '/appointments', appointment(p1, '09:00'), 'create', [p1], '/appointments', 'a1'],
    ['POST', () => '/appointments/', appointment(p2, '10:00'), 'create', [p2], '/appointments', 'a2'],
    ['GET', () => '/appointments?date_from=2031-05-05', undefined, 'read', [p1, p2], '/appointments'],
    ['GET', () => `/appointments/${ids.a1}`, undefined, 'read', [p1], '/appointments/{id}'],
    ['PUT', () => `/appointments/${ids.a2}`, { price: 160 }, 'update', [p2], '/appointments/{id}'],
    ['POST', () => '/session_notes', { patient_id: p1, content: 'Pierwsza sesja' }, 'create', [p1],
      '/session_notes', 'n1'],
    ['GET', () => '/session_notes/', undefined, 'read', [p1], '/session_notes'],
    ['GET', () => `/session_notes/${p1}`, undefined, 'read', [p1], '/session_notes/{patient_id}'],
    ['GET', () => `/session_notes/note/${ids.n1}`, undefined, 'read', [p1], '/session_notes/note/{id}'],
    ['PUT', () => `/session_notes/note/${ids.n1}`, { content: 'Poprawiona' }, 'update', [p1],
      '/session_notes/note/{id}'],
    ['POST', () => '/payments', () => ({ patient_id: p1, amount: 150, payment_method: 'CASH', appointment_ids: [ids.a1] }),
      'create', [p1], '/payments', 'pay'],
    ['GET', () => '/payments', undefined, 'read', [p1], '/payments'],
    ['GET', () => `/payments/${ids.pay}`, undefined, 'read', [p1], '/payments/{id}'],
    ['PATCH', () => `/payments/${ids.pay}`, { description: 'gotówka' }, 'update', [p1], '/payments/{id}'],
    ['GET', () => `/payments/patient/${p1}/unpaid-appointments`, undefined, 'read', [p1],
      '/payments/patient/{patient_id}/unpaid-appointments'],
    ['GET', () => '/payments/statistics/summary', undefined, 'read', [], '/payments/statistics/summary'],
    ['GET', () => `/patients/${p1}/export`, undefined, 'export', [p1], '/patients/{id}/export'],
    ['DELETE', () => `/payments/${ids.pay}`, undefined, 'delete', [p1], '/payments/{id}'],
    ['DELETE', () => `/session_notes/${ids.n1}`, undefined, 'delete', [p1], '/session_notes/{id}'],
    ['DELETE', () => `/appointments/${ids.a2}`, undefined, 'delete', [p2], '/appointments/{id}'],
    ['DELETE', () => `/patients/${p2}`, undefined, 'delete', [p2], '/patients/{id}'],
  ];
  const user = Number(decodeClaims(a.token).sub);
  let last = (await newest()).id;
  for (const [method, path, body, action, patients, route, keep] of steps) {
    const what = `${method} ${path()}`;
    const r = await as(method, path(), typeof body === 'function' ? body() : body);
    assert.equal(r.status, 200, `${what}: ${r.text}`);
    if (keep) ids[keep] = r.json.id;
    const trail = (await as('GET', '/audit?limit=5')).json.filter((e) => e.id > last);
    assert.equal(trail.length, 1, `${what} wrote ${trail.length} rows`);
    const [row] = trail;
    assert.equal(row.action, action, what);
    assert.equal(row.route, `${method} ${route}`, what);
    assert.deepEqual([...row.patient_ids].sort((x, y) => x - y), patients, what);
    assert.equal(row.user_id, user);
    assert.equal(row.client_addr, proxy.clientAddr);
    assert.ok(Math.abs(Date.parse(row.at) - Date.now()) < 60000, row.at);
    last = row.id;
  }
});

test('refused requests and GET /audit itself write no row', async () => {
  const before = (await newest()).id;
  expectError(await as('GET', '/patients/999999999'), 404);
  expectError(await as('PUT', '/patients/999999999', { name: 'x' }), 404);
  expectError(await as('POST', '/patients', { name: '' }), 422);
  await as('GET', '/audit');
  await as('GET', '/audit?patient_id=1');
  assert.equal((await newest()).id, before);
});

test('GET /audit filters by patient, user and dates, pages, and checks its arguments', async () => {
  const p = created(await as('POST', '/patients', { name: 'Filtrowany' })).id;
  await as('GET', `/patients/${p}`);
  const mine = (await as('GET', `/audit?patient_id=${p}`)).json;
  assert.deepEqual(mine.map((e) => e.action), ['read', 'create']);
  assert.ok(mine.every((e) => e.patient_ids.includes(p)));
  const user = decodeClaims(a.token).sub;
  assert.ok((await as('GET', `/audit?user_id=${user}&limit=3`)).json.length === 3);
  assert.deepEqual((await as('GET', '/audit?user_id=999999999')).json, []);
  assert.ok((await as('GET', `/audit?date_from=${today()}&date_to=${today()}`)).json.length > 0);
  assert.deepEqual((await as('GET', '/audit?date_to=2000-01-01')).json, []);
  const page = (await as('GET', '/audit?skip=1&limit=2')).json;
  const all = (await as('GET', '/audit?limit=3')).json;
  assert.deepEqual(page.map((e) => e.id), all.slice(1, 3).map((e) => e.id));
  assert.ok(all[0].id > all[1].id, 'newest first');
  expectError(await as('GET', '/audit?date_from=wczoraj'), 422);
  expectError(await as('GET', '/audit?patient_id=1%3B%20DROP'), 422);
  expectError(await as('GET', '/audit?limit=0'), 422);
  expectError(await proxy.call('GET', '/audit'), 401);
  // Another practice sees none of it.
  assert.deepEqual((await proxy.call('GET', `/audit?patient_id=${p}`, { token: b.token })).json, []);
  assert.ok((await proxy.call('GET', '/audit?limit=1000', { token: b.token })).json
    .every((e) => e.user_id === Number(decodeClaims(b.token).sub)));
});

test('export returns everything stored about one patient and nothing of the others', async () => {
  const p = created(await as('POST', '/patients', { name: 'Eksport Pełny', email: 'eksport@example.com' })).id;
  const other = created(await as('POST', '/patients', { name: 'Ktoś Inny' })).id;
  const appt = (patient, start) => as('POST', '/appointments', { patient_id: patient, date: '2031-06-06',
    start_time: start, end_time: start.replace(':00', ':45'), price: 100 });
  const a1 = created(await appt(p, '08:00')).id;
  created(await appt(p, '09:00'));
  created(await appt(other, '10:00'));
  created(await as('POST', '/session_notes', { patient_id: p, content: 'notatka pacjenta' }));
  const gone = created(await as('POST', '/session_notes', { patient_id: p, content: 'notatka usunięta' })).id;
  await as('DELETE', `/session_notes/${gone}`);
  created(await as('POST', '/session_notes', { patient_id: other, content: 'sekret innego pacjenta' }));
  created(await as('POST', '/payments', { patient_id: p, amount: 100, payment_method: 'TRANSFER',
    appointment_ids: [a1] }));

  const r = await as('GET', `/patients/${p}/export/`);
  assert.equal(r.status, 200, r.text);
  const e = r.json;
  assert.deepEqual(Object.keys(e).sort(), ['access_log', 'appointments', 'patient', 'payments', 'reminder_consents',
    'reminders', 'session_notes']);
  assert.equal(e.patient.id, p);
  assert.equal(e.patient.email, 'eksport@example.com');
  assert.equal(e.appointments.length, 2);
  assert.equal(e.session_notes.length, 2, 'archived notes are stored data too');
  assert.ok(e.session_notes.some((n) => n.id === gone && n.deleted_at !== null));
  assert.equal(e.payments.length, 1);
  assert.equal(e.appointments.find((x) => x.id === a1).is_paid, true);
  for (const list of [e.appointments, e.session_notes, e.payments]) {
    assert.ok(list.every((x) => x.patient_id === p));
  }
  assert.ok(e.access_log.length >= 7, 'who accessed the data is part of it');
  assert.doesNotMatch(r.text, /sekret innego|Ktoś Inny|practice_id|password/);
  // The export is audited itself.
  const row = await newest();
  assert.equal(row.action, 'export');
  assert.deepEqual(row.patient_ids, [p]);
  assert.equal(row.route, 'GET /patients/{id}/export');

  // Another practice: 404 exactly as a missing patient; a bad id 422.
  expectError(await proxy.call('GET', `/patients/${p}/export`, { token: b.token }), 404,
    'Pacjent nie został znaleziony');
  expectError(await as('GET', '/patients/999999999/export'), 404, 'Pacjent nie został znaleziony');
  expectError(await as('GET', '/patients/abc/export'), 422);
  expectError(await proxy.call('GET', `/patients/${p}/export`), 401);
  expectError(await as('POST', `/patients/${p}/export`, {}), 405);
});

// GET /patients from localAddress with headers; resolves with the status.
function fromAddress(port, localAddress, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/patients', localAddress, agent: false,
      headers: { authorization: `Bearer ${a.token}`, connection: 'close', ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
  });
}

test('the client address: forwarded by a trusted proxy (loopback) is believed, from anyone else it is not', async () => {
  const addrOf = async (headers) => {
    assert.equal((await as('GET', '/patients', undefined, headers)).status, 200);
    return (await newest()).client_addr;
  };
  assert.equal(await addrOf({ 'x-real-ip': '203.0.113.50' }), '203.0.113.50');
  assert.equal(await addrOf({ 'X-Real-IP': '2001:DB8::50' }), '2001:db8::50');
  assert.equal(await addrOf({ 'x-real-ip': 'not-an-address', 'x-forwarded-for': '6.6.6.6, 203.0.113.51' }),
    '203.0.113.51');
  assert.equal(await addrOf({ 'x-real-ip': "1.2.3.4'); DROP TABLE ta.audit_log; --" }), '127.0.0.1');

  // A peer that is not a trusted proxy (another loopback address): its headers are its own claims.
  const peer = `127.${1 + (randomBytes(1)[0] % 200)}.${randomBytes(1)[0]}.${1 + (randomBytes(1)[0] % 250)}`;
  assert.equal(await fromAddress(proxy.port, peer, { 'x-real-ip': '203.0.113.52',
    'x-forwarded-for': '203.0.113.53' }), 200);
  assert.equal((await newest()).client_addr, peer);

  // TRUSTED_PROXIES empty: no one is believed, not even loopback.
  const strict = await Proxy.start({ TRUSTED_PROXIES: '' });
  try {
    assert.equal((await strict.call('GET', '/patients', { token: a.token,
      headers: { 'x-real-ip': '203.0.113.54' } })).status, 200);
    assert.equal((await newest()).client_addr, '127.0.0.1');
  } finally {
    await strict.stop();
  }
});
