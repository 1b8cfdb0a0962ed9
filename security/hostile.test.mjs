// Injection and hostile input corpus: SQL fragments, NUL bytes, invalid UTF-8, emoji, right-to-left and
// zero-width marks, 10 kB and 1 MB strings, in every field of every body, every query parameter and the path.
// Each answer is 2xx or 4xx with a readable detail, never 5xx; text that is accepted reads back verbatim.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy, newPractice } from '../proxy/test/http/harness.mjs';
import { rawRequest } from './net.mjs';

const MB = 1024 * 1024;
const VALUES = {
  sql_quote: "'; DROP TABLE ta.patients; --",
  sql_or: "' OR '1'='1",
  sql_double: '" OR 1=1 --',
  sql_sleep: "1; SELECT pg_sleep(10)",
  sql_dollar: '$$; DELETE FROM ta.users; $$',
  sql_comment: '1/**/UNION/**/SELECT/**/password_hash/**/FROM/**/ta.users',
  sql_backslash: "\\'; \\x00 \\\\",
  sql_like: "%_%' --",
  json_injection: '","practice_id":1,"x":"',
  nul_escape: 'a\u0000b',
  only_nul: '\u0000',
  lone_surrogate: '\ud800',
  emoji: 'Pacjent 😀👩‍⚕️🏳️‍🌈',
  rtl_override: '\u202Egnp.exe\u202C Kowalski',
  rtl_marks: '\u200F\u200E\u061C',
  zero_width: 'a\u200B\u200C\u200Db\uFEFF',
  combining: 'Z\u0307o\u0301l\u0328w',
  controls: '\u0001\u0007\u001b[31m\u007f',
  newlines: 'a\r\nb\nc\td',
  html: '<script>alert(1)</script>',
  format: '%s%s%n%x{0}${x}',
  number_text: '1e400',
  negative: '-1',
  empty: '',
  spaces: '   ',
  s10k: 'x'.repeat(10 * 1024),
  s10k_polish: 'żółć'.repeat(10 * 1024 / 8),
  s1m: 'a'.repeat(MB),
};
// Raw bytes that are not UTF-8, spliced into otherwise valid JSON text.
const BAD_UTF8 = { ff_fe: [0xff, 0xfe], truncated: [0xc3], surrogate: [0xed, 0xa0, 0x80], overlong: [0xc0, 0xaf],
  cp1250: [0xbf, 0xf3, 0xb3, 0xe6] };

// Percent-encodes every byte of the UTF-8 text (a lone surrogate becomes U+FFFD, as any client would send it).
const pct = (v) => [...Buffer.from(v)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

let proxy;
let token;
let patient;
let appointment;
let note;
let payment;
let day = 0;
const nextDate = () => new Date(Date.UTC(2041, 0, 1 + day++)).toISOString().slice(0, 10);

before(async () => {
  proxy = await Proxy.start();
  ({ token } = await newPractice(proxy, 'hostile'));
  const call = async (method, path, body) => (await proxy.call(method, path, { token, body })).json;
  patient = await call('POST', '/patients', { name: 'Wrogi' });
  appointment = await call('POST', '/appointments', { patient_id: patient.id, date: '2040-01-01',
    start_time: '10:00', end_time: '11:00', price: 100 });
  const paid = await call('POST', '/appointments', { patient_id: patient.id, date: '2040-01-02',
    start_time: '10:00', end_time: '11:00', price: 100 });
  note = await call('POST', '/session_notes', { patient_id: patient.id, content: 'n' });
  payment = await call('POST', '/payments', { patient_id: patient.id, amount: 100, payment_method: 'CASH',
    appointment_ids: [paid.id] });
  for (const x of [patient, appointment, note, payment]) assert.equal(typeof x?.id, 'number');
});
after(async () => { await proxy?.stop(); });

// Every body route with a valid base body, the fields to attack, and where an accepted text field reads back.
function bodyRoutes() {
  return [
    { method: 'POST', path: '/auth/register', base: () => ({ email: `h${day++}@example.com`, password: 'haslo-123' }),
      fields: ['email', 'password'], auth: false },
    { method: 'POST', path: '/auth/login', base: () => ({ username: 'nikt@example.com', password: 'x' }),
      fields: ['username', 'email', 'password'], auth: false },
    { method: 'POST', path: '/patients', base: () => ({ name: 'P' }), fields: ['name', 'phone', 'email', 'notes'],
      read: (r) => `/patients/${r.id}` },
    { method: 'PUT', path: () => `/patients/${patient.id}`, base: () => ({}), fields: ['name', 'phone', 'email', 'notes'],
      read: () => `/patients/${patient.id}` },
    { method: 'POST', path: '/appointments', base: () => ({ patient_id: patient.id, date: nextDate(),
      start_time: '10:00', end_time: '11:00', price: 100 }),
      fields: ['patient_id', 'date', 'start_time', 'end_time', 'price', 'session_note_id', 'is_paid'] },
    { method: 'PUT', path: () => `/appointments/${appointment.id}`, base: () => ({}),
      fields: ['patient_id', 'date', 'start_time', 'end_time', 'price', 'session_note_id', 'is_paid'] },
    { method: 'POST', path: '/session_notes', base: () => ({ patient_id: patient.id, content: 'c' }),
      fields: ['patient_id', 'content'], read: (r) => `/session_notes/note/${r.id}` },
    { method: 'PUT', path: () => `/session_notes/note/${note.id}`, base: () => ({}), fields: ['content'],
      read: () => `/session_notes/note/${note.id}` },
    { method: 'POST', path: '/payments', base: () => ({ patient_id: patient.id, amount: 100, payment_method: 'CASH',
      appointment_ids: [appointment.id] }),
      fields: ['patient_id', 'amount', 'payment_method', 'appointment_ids', 'description', 'payment_date'] },
    { method: 'PATCH', path: () => `/payments/${payment.id}`, base: () => ({}),
      fields: ['amount', 'payment_method', 'appointment_ids', 'description', 'payment_date'],
      read: () => `/payments/${payment.id}` },
  ];
}

const TEXT_FIELDS = new Set(['name', 'phone', 'notes', 'content', 'description']);

// 2xx, or 4xx with a string detail; never 5xx. Returns the answer.
function checkAnswer(r, what) {
  assert.ok(r.status < 500, `${what}: ${r.status} ${r.text.slice(0, 200)}`);
  if (r.status >= 400) assert.equal(typeof r.json?.detail, 'string', `${what}: no detail in ${r.text.slice(0, 200)}`);
  return r;
}

test('hostile strings in every field of every body: stored verbatim or refused with 4xx', async () => {
  let stored = 0;
  let refused = 0;
  for (const route of bodyRoutes()) {
    for (const field of route.fields) {
      for (const [name, value] of Object.entries(VALUES)) {
        const path = typeof route.path === 'function' ? route.path() : route.path;
        const body = { ...route.base(), [field]: value };
        const what = `${route.method} ${path} ${field}=${name}`;
        const r = checkAnswer(await proxy.call(route.method, path, { token: route.auth === false ? undefined : token,
          body }), what);
        if (name === 's1m') assert.equal(r.status, 413, what);
        if (r.status >= 400) { refused++; continue; }
        stored++;
        if (route.read && TEXT_FIELDS.has(field)) {
          const back = await proxy.call('GET', route.read(r.json), { token });
          assert.equal(back.status, 200, what);
          // A phone is stored without surrounding spaces, blank as null (the database's rule); free text exactly.
          const trimmed = value.replace(/^ +| +$/g, '');
          const expected = field !== 'phone' ? value : trimmed === '' ? null : trimmed;
          assert.equal(back.json[field], expected, `${what} did not read back verbatim: ${JSON.stringify(back.json[field])?.slice(0, 80)}`);
        }
      }
    }
  }
  assert.ok(stored > 50 && refused > 50, `stored ${stored}, refused ${refused}`);
});

test('invalid UTF-8 in every field of every body answers 400 or 422', async () => {
  for (const route of bodyRoutes()) {
    for (const field of route.fields) {
      for (const [name, bytes] of Object.entries(BAD_UTF8)) {
        const path = typeof route.path === 'function' ? route.path() : route.path;
        const [head, tail] = JSON.stringify({ ...route.base(), [field]: 'SPLICE' }).split('SPLICE');
        const body = Buffer.concat([Buffer.from(head), Buffer.from(bytes), Buffer.from(tail)]);
        const r = checkAnswer(await proxy.call(route.method, path, { token: route.auth === false ? undefined : token,
          body, headers: { 'content-type': 'application/json' } }), `${route.method} ${path} ${field}=${name}`);
        assert.ok([400, 422].includes(r.status), `${route.method} ${path} ${field}=${name}: ${r.status}`);
      }
    }
  }
});

// A login that gets past validation fails and is counted: after ten failures of one account or address in 15
// minutes the answer is 429 (sql/README.md, Login throttling), as refused as a 401.
test('hostile login forms (urlencoded and multipart) answer 401, 422 or 429', async () => {
  for (const [name, value] of Object.entries(VALUES)) {
    if (name === 's1m') continue;
    for (const field of ['username', 'password']) {
      const fields = { username: 'nikt@example.com', password: 'x', [field]: value };
      const url = await proxy.call('POST', '/auth/login', { body: new URLSearchParams(fields) });
      assert.ok([401, 422, 429].includes(checkAnswer(url, `urlencoded ${field}=${name}`).status), `${name}: ${url.status}`);
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.set(k, v);
      const multi = await proxy.call('POST', '/auth/login', { body: form });
      assert.ok([401, 422, 429].includes(checkAnswer(multi, `multipart ${field}=${name}`).status), `${name}: ${multi.status}`);
    }
  }
  for (const raw of ['username=%ff%fe&password=x', 'username=a%00b&password=x', 'username=%c3&password=x',
    '%zz=%', '&&&=&', 'username=' + 'a'.repeat(900 * 1024)]) {
    const r = await proxy.call('POST', '/auth/login', { body: raw,
      headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.ok([400, 401, 422, 429].includes(checkAnswer(r, raw.slice(0, 30)).status), `${raw.slice(0, 30)}: ${r.status}`);
  }
});

test('hostile values in every query parameter answer 200 or 4xx', async () => {
  const lists = {
    '/patients': ['skip', 'limit'],
    '/appointments': ['skip', 'limit', 'date_from', 'date_to'],
    '/session_notes': ['skip', 'limit'],
    [`/session_notes/${patient.id}`]: ['skip', 'limit'],
    '/payments': ['skip', 'limit', 'patient_id', 'date_from', 'date_to', 'payment_method'],
    '/payments/statistics/summary': ['date_from', 'date_to'],
  };
  const encoded = Object.entries(VALUES).filter(([name]) => name !== 's1m' && name !== 's10k_polish')
    .map(([name, v]) => [name, pct(v)]);
  encoded.push(['pct_ff', '%ff%fe'], ['pct_nul', '%00'], ['pct_c3', '%c3'], ['pct_bad', '%zz%'],
    ['s10k_polish', pct('ż'.repeat(5 * 1024))], ['plus', '1+1'], ['huge_int', '9'.repeat(40)]);
  for (const [path, params] of Object.entries(lists)) {
    for (const param of params) {
      for (const [name, value] of encoded) {
        const r = checkAnswer(await proxy.call('GET', `${path}?${param}=${value}`, { token }), `${path} ${param}=${name}`);
        assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `${path} ${param}=${name}: ${r.status}`);
      }
    }
    // Repeated and unknown parameters.
    checkAnswer(await proxy.call('GET', `${path}?skip=1&skip=2&limit=3&limit=x&unknown=%27`, { token }), path);
  }
  // A query string over the header limit: a 4xx from the server, never a hang or 5xx.
  const long = await proxy.call('GET', `/patients?skip=${'1'.repeat(100 * 1024)}`, { token });
  assert.ok(long.status >= 400 && long.status < 500, String(long.status));
});

test('hostile path segments answer 404 or 422', async () => {
  for (const [name, value] of Object.entries(VALUES)) {
    if (name.startsWith('s1')) continue;
    for (const pattern of ['/patients/X', '/appointments/X', '/session_notes/note/X', '/payments/X',
      '/payments/patient/X/unpaid-appointments', '/X']) {
      const path = pattern.replace('X', pct(value));
      const r = checkAnswer(await proxy.call('GET', path, { token }), `${path.slice(0, 60)} (${name})`);
      assert.ok([404, 405, 422].includes(r.status) || (name === 'empty' && r.status === 200),
        `${path.slice(0, 60)} (${name}): ${r.status}`);
    }
  }
  for (const path of ['/patients/%ff', '/patients/%00', '/patients/1%2F2', '/patients/..%2F..%2Fetc%2Fpasswd',
    '/docs/..%2F..%2F..%2Fetc%2Fpasswd', '/patients/-1', '/patients/1.5',
    '/patients/99999999999999999999', '/patients/0x10', '/patients/1e3']) {
    const r = checkAnswer(await proxy.call('GET', path, { token }), path);
    assert.ok([404, 422].includes(r.status), `${path}: ${r.status}`);
    assert.doesNotMatch(r.text, /root:/);
  }
  // Dot segments exactly as sent (fetch would resolve them): the proxy serves only what it embeds.
  for (const path of ['/docs/../../../etc/passwd', '/docs/%2e%2e/%2e%2e/etc/passwd', '/docs/..%2f..%2fetc/passwd',
    '/docs/%2e%2e', '/patients/../payments/1', '/docs/swagger-ui.css/../../x']) {
    const answer = await rawRequest(proxy.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 4\d\d/, path);
    assert.doesNotMatch(answer, /root:/, path);
  }
});

test('hostile headers are answered, never 5xx', async () => {
  for (const [name, value] of Object.entries(VALUES)) {
    if (name.startsWith('s1') || /[^\x20-\x7e]/.test(value)) continue;   // fetch sends visible ASCII only
    for (const header of ['x-request-id', 'origin', 'content-type', 'accept', 'access-control-request-method']) {
      const r = await proxy.call('POST', '/patients', { token, body: { name: 'nagłówki' },
        headers: { [header]: value } });
      checkAnswer(r, `${header}: ${name}`);
    }
  }
  assert.equal((await proxy.call('GET', '/health')).status, 200);
});
