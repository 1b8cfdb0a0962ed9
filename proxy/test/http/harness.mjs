// Black-box harness: starts the real proxy binary (PROXY_BIN) on a free loopback port against the real database
// in DATABASE_URL, waits for /health, and gives the tests a small HTTP client. One proxy per test file.
import { spawn } from 'node:child_process';
import { before, after } from 'node:test';
import { createHmac, randomBytes } from 'node:crypto';
import net from 'node:net';
import http from 'node:http';
import assert from 'node:assert/strict';

export const ALLOWED_ORIGIN = 'http://allowed.test:5173';
const SECRET = process.env.JWT_SECRET;
const BIN = process.env.PROXY_BIN;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// GET /health on a connection of its own that is closed afterwards (fetch would keep it open in its pool, and
// it would count against the per-IP connection cap). Resolves with the status, rejects when nothing listens.
function healthStatus(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false,
      headers: { connection: 'close' } }, (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
  });
}

// Sanitizer and crash reports the proxy may print on stderr; any of them fails the suite.
const SANITIZER_REPORT = /(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer|SUMMARY: \w+Sanitizer)/;

export class Proxy {
  // Starts the proxy and waits until /health answers 200 (or, with expectHealthy false, answers at all).
  static async start(extraEnv = {}, { expectHealthy = true } = {}) {
    assert.ok(BIN, 'PROXY_BIN must name the proxy binary');
    assert.ok(process.env.DATABASE_URL, 'DATABASE_URL must point at the database');
    assert.ok(SECRET && SECRET.length >= 32, 'JWT_SECRET must be the secret the database signs with');
    const p = new Proxy();
    p.port = await freePort();
    p.base = `http://127.0.0.1:${p.port}`;
    p.stdout = '';
    // Each proxy's requests come from an address of their own (X-Real-IP, believed from loopback as from
    // nginx), so failed logins of one test file never count against another's (the database throttles
    // per address).
    p.clientAddr = randomAddress();
    p.stderr = '';
    p.child = spawn(BIN, [], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: process.env.DATABASE_URL,
        JWT_SECRET: SECRET,
        PORT: String(p.port),
        LISTEN_ADDRESS: '127.0.0.1',
        ALLOWED_ORIGINS: `${ALLOWED_ORIGIN}, http://second.test`,
        PROXY_ENV_FILE: '/dev/null',
        ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0',
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    p.child.stdout.on('data', (d) => { p.stdout += d; });
    p.child.stderr.on('data', (d) => { p.stderr += d; });
    p.exited = new Promise((resolve) => p.child.on('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 15000;
    for (;;) {
      try {
        const status = await healthStatus(p.port);
        if (status === 200 || !expectHealthy) break;
      } catch { /* not listening yet */ }
      if (p.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`proxy did not become healthy:\n${p.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return p;
  }

  // SIGTERM, then the proxy must exit 0 without any sanitizer report.
  async stop() {
    this.child.kill('SIGTERM');
    const { code, signal } = await this.exited;
    assert.doesNotMatch(this.stderr, SANITIZER_REPORT, `sanitizer report:\n${this.stderr}`);
    assert.equal(signal, null, `proxy died of ${signal}:\n${this.stderr}`);
    assert.equal(code, 0, `proxy exited ${code}:\n${this.stderr}`);
  }

  // One request. body: an object (sent as JSON), a string/Buffer (sent as is), or a FormData.
  async call(method, path, { token, body, headers = {} } = {}) {
    const h = { ...headers };
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'x-real-ip')) h['x-real-ip'] = this.clientAddr;
    if (token) h.authorization = `Bearer ${token}`;
    let payload = body;
    if (body !== undefined && typeof body === 'object' && !(body instanceof FormData) &&
        !(body instanceof URLSearchParams) && !Buffer.isBuffer(body)) {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const r = await fetch(this.base + path, { method, headers: h, body: payload });
    const text = await r.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: r.status, headers: r.headers, text, json };
  }
}

// A fresh therapist (a fresh practice): registers, logs in through the form the SPA sends, returns the token.
export async function newPractice(proxy, label = 'ta') {
  const email = `${label}-${randomBytes(6).toString('hex')}@example.com`;
  const password = 'haslo-' + randomBytes(4).toString('hex');
  const reg = await proxy.call('POST', '/auth/register', { body: { email, password } });
  assert.equal(reg.status, reg.status === 201 ? 201 : 200, reg.text);
  const form = new FormData();
  form.set('username', email);
  form.set('password', password);
  const login = await proxy.call('POST', '/auth/login', { body: form });
  assert.equal(login.status, 200, login.text);
  return { email, password, user: reg.json, token: login.json.access_token };
}

// Asserts status and, when given, the exact Polish detail.
export function expectError(res, status, detail) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.equal(typeof res.json?.detail, 'string', `no detail in ${res.text}`);
  if (detail !== undefined) assert.equal(res.json.detail, detail);
}

// A random address from 198.18.0.0/15 (set aside for tests).
export function randomAddress() {
  const [a, b, c] = randomBytes(3);
  return `198.${18 + (a & 1)}.${b}.${c}`;
}

function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

// Signs claims with JWT_SECRET (or another key) the standard way: what any HS256 library produces.
export function signToken(claims, { alg = 'HS256', key = SECRET, header } = {}) {
  const head = b64url(JSON.stringify(header ?? { alg, typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  if (alg === 'none') return `${head}.${body}.`;
  const algo = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  const sig = createHmac(algo, key).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

export function decodeClaims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

// The Europe/Warsaw day (YYYY-MM-DD) of an ISO 8601 instant: the day payments are filtered by.
const WARSAW_DAY = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Warsaw' });
export const warsawDay = (iso) => WARSAW_DAY.format(new Date(iso));
// Today in Warsaw, the day the api's date filters mean (from 23:00 or 22:00 UTC it is not UTC's day).
export const today = () => warsawDay(new Date().toISOString());

// Hooks a test file up to its own proxy and a fresh practice (and, when patientName is given, one patient).
// The returned object is filled in before the first test: proxy, token, patient, and call(method, path, body)
// as that practice; setup(ctx), when given, runs after that.
export function useStack(label, { patientName, env, setup } = {}) {
  const ctx = {};
  before(async () => {
    ctx.proxy = await Proxy.start(env);
    ({ token: ctx.token } = await newPractice(ctx.proxy, label));
    ctx.call = (method, path, body) => ctx.proxy.call(method, path, { token: ctx.token, body });
    if (patientName) ctx.patient = (await ctx.call('POST', '/patients', { name: patientName })).json;
    if (setup) await setup(ctx);
  });
  after(async () => { await ctx.proxy?.stop(); });
  return ctx;
}
