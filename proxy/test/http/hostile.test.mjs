// Hostile input: nothing answers 500, nothing drops the connection, nothing crashes the proxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { useStack, expectError } from './harness.mjs';

// A short idle timeout, so that the slow-client test below is quick.
const stack = useStack('hostile', { env: { PROXY_CONNECTION_TIMEOUT: '2' } });

const raw = (method, path, body, headers = {}) =>
  stack.proxy.call(method, path, { token: stack.token, body, headers: { 'content-type': 'application/json', ...headers } });

// Sends bytes over a plain socket and returns what came back (the proxy must answer, not hang).
function rawHttp(bytes, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(stack.proxy.port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('no answer: ' + data)); }, timeoutMs);
    sock.on('data', (d) => { data += d; if (/\r\n\r\n/.test(data)) { clearTimeout(timer); sock.destroy(); resolve(data); } });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => { clearTimeout(timer); resolve(data); });
    sock.write(bytes);
  });
}

test('malformed JSON answers 422 with a detail', async () => {
  for (const body of ['{', '{"name": }', 'nie json', '{"name":"a"} trailing', '{"name":"a",}', "{'name':'a'}",
    '', '   ', '[' .repeat(100000)]) {
    const r = await raw('POST', '/patients', body);
    assert.ok([400, 422].includes(r.status), `${JSON.stringify(body.slice(0, 20))}: ${r.status} ${r.text}`);
    assert.equal(typeof r.json.detail, 'string');
  }
});

test('JSON that is not an object, or has wrong types, answers 422', async () => {
  for (const body of ['[]', '"x"', '42', 'null', 'true', '[{"name":"a"}]']) {
    expectError(await raw('POST', '/patients', body), 422);
  }
  for (const body of [{ name: {} }, { name: null }, { name: 'a', email: 5 }, { name: 'a', phone: [] },
    { name: 'a'.repeat(100000) }]) {
    const r = await raw('POST', '/patients', JSON.stringify(body));
    assert.ok([400, 422].includes(r.status), `${JSON.stringify(body).slice(0, 40)}: ${r.status} ${r.text}`);
  }
  expectError(await raw('POST', '/appointments', JSON.stringify({ patient_id: 1e300, date: '2030-01-01',
    start_time: '10:00', end_time: '11:00', price: 1 })), 422);
  expectError(await raw('POST', '/appointments', JSON.stringify({ patient_id: -1, date: '2030-01-01',
    start_time: '10:00', end_time: '11:00', price: 1e400 })), 422);
});

test('invalid UTF-8 and NUL bytes answer 400 or 422', async () => {
  const cases = [
    Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), // {"name":"\xff\xfe"}
    Buffer.from('{"name":"a\u0000b"}'),
    Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3]), Buffer.from('"}')]),
    Buffer.from('{"name":"\\u0000"}'),
    Buffer.from('{"name":"\\ud800"}'),
  ];
  for (const body of cases) {
    const r = await raw('POST', '/patients', body);
    assert.ok([400, 422].includes(r.status), `${body.toString('hex')}: ${r.status} ${r.text}`);
    assert.equal(typeof r.json.detail, 'string');
  }
  const q = await raw('GET', '/patients?skip=%ff%fe');
  assert.ok([400, 422].includes(q.status), q.text);
  const q2 = await raw('GET', '/appointments?date_from=%00');
  assert.ok([400, 422].includes(q2.status), q2.text);
});

test('a 3 MB body answers 413 whether its length is announced or chunked', async () => {
  const big = '{"name":"' + 'a'.repeat(3 * 1024 * 1024) + '"}';
  expectError(await raw('POST', '/patients', big), 413);
  const stream = new Blob([big]).stream();
  const chunked = await fetch(`${stack.proxy.base}/patients`, {
    method: 'POST', body: stream, duplex: 'half',
    headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
  });
  assert.equal(chunked.status, 413);
  // Just over the limit, too; just under it reaches the database.
  expectError(await raw('POST', '/patients', 'x'.repeat(1024 * 1024 + 1)), 413);
  const under = await raw('POST', '/patients', JSON.stringify({ name: 'a', notes: 'n'.repeat(1000 * 1000) }));
  assert.ok([200, 201, 422].includes(under.status), under.text.slice(0, 200));
  // Expect: 100-continue gets the 413 before sending anything.
  const answer = await rawHttp(`POST /patients HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: 3145728\r\nExpect: 100-continue\r\n\r\n`);
  assert.match(answer, /^HTTP\/1\.1 413/);
  // And the proxy still serves.
  assert.equal((await stack.proxy.call('GET', '/health')).status, 200);
});

test('refusals decided before a large body still reach clients that send it anyway', async () => {
  const body = JSON.stringify({ name: 'a', notes: 'n'.repeat(900 * 1024) });
  for (let i = 0; i < 3; i++) {
    expectError(await stack.proxy.call('POST', '/patients', { body, headers: { 'content-type': 'application/json' } }),
      401, 'Not authenticated');
    expectError(await stack.proxy.call('POST', '/nope', { body }), 404);
    expectError(await stack.proxy.call('DELETE', '/patients', { body }), 405);
    expectError(await stack.proxy.call('PUT', '/patients/x', { body }), 422);
  }
});

test('oversized headers, odd methods and broken requests get an HTTP answer', async () => {
  const hugeHeader = await rawHttp(`GET /patients HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100000)}\r\n\r\n`);
  assert.match(hugeHeader, /^HTTP\/1\.1 4\d\d/);
  const oddMethod = await stack.proxy.call('BREW', '/patients');
  assert.ok([404, 405, 501].includes(oddMethod.status), String(oddMethod.status));
  const badVersion = await rawHttp('GET / HTTP/9.9\r\n\r\n');
  assert.match(badVersion, /^HTTP\/1\.1 [45]\d\d/);
  // Not HTTP at all: answered 400 or closed by the idle timeout, never left hanging.
  const garbage = await rawHttp('\x00\x01\x02 nonsense\r\n\r\n', { timeoutMs: 6000 });
  assert.ok(garbage === '' || /^HTTP\/1\.1 4\d\d/.test(garbage), garbage.slice(0, 40));
  const badLength = await rawHttp('POST /patients HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n');
  assert.match(badLength, /^HTTP\/1\.1 4\d\d/);
  const encodedPath = await stack.proxy.call('GET', '/patients/%00', { token: stack.token });
  expectError(encodedPath, 422, 'Nieprawidłowy identyfikator');
  assert.equal((await stack.proxy.call('GET', '/health')).status, 200);
});

test('a slow client is disconnected by the idle timeout', async () => {
  const started = Date.now();
  const answer = await rawHttp('GET /patients HTTP/1.1\r\nHost: x\r\n', { timeoutMs: 8000 });
  assert.equal(answer, '');
  assert.ok(Date.now() - started < 6000);
});

test('a flood of concurrent requests is answered without errors', async () => {
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    stack.proxy.call('GET', i % 2 ? '/patients?limit=5' : '/payments/statistics/summary', { token: stack.token })));
  assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
});
