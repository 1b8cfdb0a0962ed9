// Service routes, unknown paths and methods, CORS, request ids and the access log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy, ALLOWED_ORIGIN, newPractice, expectError } from './harness.mjs';

let proxy;
before(async () => { proxy = await Proxy.start(); });
after(async () => { await proxy?.stop(); });

test('GET / greets in Polish and points at the docs', async () => {
  const r = await proxy.call('GET', '/');
  assert.equal(r.status, 200);
  assert.equal(r.json.message, 'Witaj w TherapyAssistance API');
  assert.equal(r.json.docs, '/docs');
  assert.equal(typeof r.json.version, 'string');
  assert.match(r.headers.get('content-type'), /^application\/json/);
});

test('GET /health answers from the database', async () => {
  const r = await proxy.call('GET', '/health');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'healthy');
});

test('GET /openapi.json is an OpenAPI 3 document of every contract path', async () => {
  const r = await proxy.call('GET', '/openapi.json');
  assert.equal(r.status, 200);
  assert.match(r.json.openapi, /^3\./);
  for (const [path, method] of [
    ['/auth/register', 'post'], ['/auth/login', 'post'], ['/patients', 'get'], ['/patients/{id}', 'put'],
    ['/appointments/{id}', 'delete'], ['/session_notes/note/{id}', 'get'], ['/payments/{id}', 'patch'],
    ['/payments/patient/{patient_id}/unpaid-appointments', 'get'], ['/payments/statistics/summary', 'get'],
    ['/health', 'get'], ['/', 'get'], ['/audit', 'get'], ['/patients/{id}/export', 'get'],
  ]) assert.ok(r.json.paths[path]?.[method], `${method} ${path}`);
});

// The closed lists are types in the database (ta.payment_method, ta.audit_action), and the messages that
// refuse a value outside them list the type's values: the document must list the same ones.
test('the OpenAPI document lists the values the database accepts for every closed list', async () => {
  const doc = (await proxy.call('GET', '/openapi.json')).json;
  const listed = (text) => text.match(/(?:być |\()(.*?)\)?$/)[1].split(/, | lub /);
  const { token } = await newPractice(proxy, 'enums');
  const auth = { authorization: `Bearer ${token}` };
  const method = await proxy.call('GET', '/payments?payment_method=KARTA', { headers: auth });
  expectError(method, 422);
  const methods = listed(method.json.detail);
  for (const schema of ['Payment', 'PaymentCreate', 'PaymentUpdate'])
    assert.deepEqual(doc.components.schemas[schema].properties.payment_method.enum, methods, schema);
  assert.deepEqual(doc.paths['/payments'].get.parameters.find((p) => p.name === 'payment_method').schema.enum, methods);
  const action = await proxy.call('GET', '/audit?action=czytanie', { headers: auth });
  expectError(action, 422);
  const actions = listed(action.json.detail);
  assert.deepEqual(doc.components.schemas.AuditEntry.properties.action.enum, actions);
  assert.deepEqual(doc.paths['/audit'].get.parameters.find((p) => p.name === 'action').schema.enum, actions);
});

for (const [path, name] of [['/docs', 'Swagger UI'], ['/redoc', 'ReDoc']]) {
  test(`GET ${path} serves ${name} and every file it loads from the proxy itself`, async () => {
    const page = await proxy.call('GET', path);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    const files = [...page.text.matchAll(/(?:src|href|spec-url)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(files.length >= 2);
    for (const rel of files) {
      assert.doesNotMatch(rel, /^(https?:)?\/\//, 'no outside network');
      const asset = await proxy.call('GET', '/' + rel);
      assert.equal(asset.status, 200, rel);
    }
  });
}

test('the docs pages\' bundles are JavaScript, and only bundled files are served', async () => {
  for (const file of ['swagger-ui-bundle.js', 'redoc.standalone.js']) {
    const bundle = await proxy.call('GET', `/docs/${file}`);
    assert.match(bundle.headers.get('content-type'), /javascript/, file);
    assert.ok(bundle.text.length > 100000, file);
  }
  expectError(await proxy.call('GET', '/docs/nope.js'), 404);
  expectError(await proxy.call('GET', '/docs/..%2Fopenapi.json'), 404);
});

test('unknown path answers 404 JSON, wrong method 405 JSON with Allow', async () => {
  expectError(await proxy.call('GET', '/nope'), 404);
  expectError(await proxy.call('GET', '/patients/1/extra'), 404);
  const r = await proxy.call('DELETE', '/patients');
  expectError(r, 405);
  assert.equal(r.headers.get('allow'), 'GET, POST, OPTIONS');
  expectError(await proxy.call('PUT', '/payments/1'), 405);
  expectError(await proxy.call('GET', '/auth/login'), 405);
  expectError(await proxy.call('POST', '/health'), 405);
});

test('CORS: listed origins are echoed with credentials, preflight answers 204', async () => {
  const r = await proxy.call('GET', '/', { headers: { origin: ALLOWED_ORIGIN } });
  assert.equal(r.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
  assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
  const second = await proxy.call('GET', '/health', { headers: { origin: 'http://second.test' } });
  assert.equal(second.headers.get('access-control-allow-origin'), 'http://second.test');

  const pre = await proxy.call('OPTIONS', '/patients/', {
    headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
  assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
  assert.match(pre.headers.get('access-control-allow-methods'), /PATCH/);
  assert.match(pre.headers.get('access-control-allow-headers'), /authorization/i);
  // The 401 of a protected route still carries CORS headers, so the SPA can read it.
  const denied = await proxy.call('GET', '/patients', { headers: { origin: ALLOWED_ORIGIN } });
  assert.equal(denied.status, 401);
  assert.equal(denied.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
});

test('CORS: other origins get no CORS headers', async () => {
  for (const origin of ['http://evil.test', 'http://allowed.test:5174', 'null', ALLOWED_ORIGIN + '.evil.test']) {
    const r = await proxy.call('GET', '/', { headers: { origin } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), null, origin);
    const pre = await proxy.call('OPTIONS', '/patients', {
      headers: { origin, 'access-control-request-method': 'GET' },
    });
    assert.notEqual(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    assert.equal(pre.headers.get('access-control-allow-credentials'), null);
  }
});

test('every response carries a request id; a plain client id is kept', async () => {
  const r = await proxy.call('GET', '/');
  assert.match(r.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
  const mine = await proxy.call('GET', '/', { headers: { 'x-request-id': 'trace-42' } });
  assert.equal(mine.headers.get('x-request-id'), 'trace-42');
  const hostile = await proxy.call('GET', '/', { headers: { 'x-request-id': 'a"b\\c' } });
  assert.match(hostile.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
});

test('access log: one JSON line per request, no token, password, query or body', async () => {
  const who = await newPractice(proxy, 'log');
  await proxy.call('POST', '/patients', { token: who.token, body: { name: 'Sekretny Pacjent' } });
  await proxy.call('GET', '/patients?limit=5&secret=xyz', { token: who.token, headers: { 'x-request-id': 'log-check' } });
  await new Promise((r) => setTimeout(r, 100));
  const lines = proxy.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const mine = lines.find((l) => l.request_id === 'log-check');
  assert.ok(mine, 'the request is logged');
  assert.deepEqual(Object.keys(mine).sort(), ['duration_ms', 'method', 'path', 'request_id', 'status', 'time']);
  assert.equal(mine.path, '/patients');
  assert.equal(mine.status, 200);
  assert.ok(lines.some((l) => l.path === '/auth/login' && l.status === 200));
  for (const secret of [who.token, who.password, 'Sekretny', 'xyz', who.token.split('.')[2]]) {
    assert.ok(!proxy.stdout.includes(secret), 'the log must not contain ' + secret.slice(0, 8));
    assert.ok(!proxy.stderr.includes(secret), 'stderr must not contain ' + secret.slice(0, 8));
  }
});
