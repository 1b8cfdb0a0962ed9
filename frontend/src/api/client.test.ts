import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ApiError, apiError, errorText, NETWORK_MESSAGE, SESSION_EXPIRED_MESSAGE, tokenExpiry, tokenUser,
} from './client';

describe('apiError', () => {
  it("shows the contract's detail as it is", () => {
    const e = apiError(400, { detail: 'Wizyta koliduje z inną wizytą w tym terminie' });
    expect(e.status).toBe(400);
    expect(e.message).toBe('Wizyta koliduje z inną wizytą w tym terminie');
  });
  it('joins FastAPI-style validation messages', () => {
    expect(apiError(422, { detail: [{ msg: 'field required' }, { msg: 'bad email' }] }).message)
      .toBe('field required; bad email');
  });
  it('keeps per-field messages of a richer 422', () => {
    const e = apiError(422, { detail: 'Nieprawidłowy adres email', errors: [{ field: 'email', message: 'zły' }] });
    expect(e.fields).toEqual({ email: 'zły' });
  });
  it('falls back to a Polish message by status when the body says nothing useful', () => {
    expect(apiError(502, null).message).toBe('Błąd serwera. Spróbuj ponownie za chwilę.');
    expect(apiError(413, 'x').message).toBe('Przesłane dane są za duże.');
    expect(apiError(401, { detail: '' }).message).toBe(SESSION_EXPIRED_MESSAGE);
    expect(apiError(418, { detail: 42 }).message).toBe('Nie udało się wykonać operacji.');
  });
  it('gives any other failure a readable message', () => {
    expect(errorText(new ApiError(404, 'Pacjent nie został znaleziony'))).toBe('Pacjent nie został znaleziony');
    expect(errorText(new TypeError('Failed to fetch'))).toBe(NETWORK_MESSAGE);
  });
});

function jwt(payload: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}.sig`;
}

describe('tokenExpiry', () => {
  it('reads exp from a JWT payload', () => {
    expect(tokenExpiry(jwt({ sub: '1', exp: 1764000000 }))).toBe(1764000000);
  });
  it('gives null for tokens without a readable exp', () => {
    expect(tokenExpiry(jwt({ sub: '1' }))).toBeNull();
    expect(tokenExpiry('not-a-token')).toBeNull();
    expect(tokenExpiry('a.%%%.c')).toBeNull();
  });
});

describe('tokenUser', () => {
  it('reads the user id and email the login put in the token', () => {
    expect(tokenUser(jwt({ sub: '7', email: 'terapeuta@example.com', pid: 3 })))
      .toEqual({ id: 7, email: 'terapeuta@example.com' });
    expect(tokenUser(jwt({ sub: '7' }))).toEqual({ id: 7, email: null });
  });
  it('gives null when the token names no user', () => {
    expect(tokenUser(jwt({ email: 'x@example.com' }))).toBeNull();
    expect(tokenUser(jwt({ sub: 'abc' }))).toBeNull();
    expect(tokenUser('not-a-token')).toBeNull();
    expect(tokenUser(`a.${Buffer.from('"7"').toString('base64url')}.c`)).toBeNull();
  });
});

// request() against a real HTTP server: what reaches the wire and what comes back.
describe('request', () => {
  let server: Server;
  let base: string;
  let client: typeof import('./client');
  let endpoints: typeof import('./endpoints');
  const seen: { method?: string; url?: string; auth?: string; type?: string; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body });
        const route = `${req.method} ${req.url?.split('?')[0]}`;
        if (route === 'POST /api/auth/login') {
          res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"access_token":"t1","token_type":"bearer"}');
        } else if (route === 'GET /api/patients') {
          res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"detail":"Could not validate credentials"}');
        } else if (route === 'POST /api/appointments') {
          res.writeHead(400, { 'Content-Type': 'application/json' })
            .end('{"detail":"Wizyta koliduje z inną wizytą w tym terminie"}');
        } else {
          res.writeHead(502, { 'Content-Type': 'text/html' }).end('<html>Bad Gateway</html>');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const store = new Map<string, string>();
    vi.stubGlobal('localStorage', {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => store.set(k, v),
      removeItem: (k: string) => store.delete(k),
    });
    vi.stubEnv('VITE_API_URL', `${base}/api/`);
    vi.resetModules();
    client = await import('./client');
    endpoints = await import('./endpoints');
  });

  afterAll(() => {
    server.close();
    vi.unstubAllEnvs();
    vi.unstubAllGlobals();
  });

  it('logs in with multipart form fields username and password', async () => {
    expect(client.API_URL).toBe(`${base}/api`);
    const answer = await endpoints.login('a@b.pl', 'haslo123');
    expect(answer.access_token).toBe('t1');
    const req = seen.at(-1);
    expect(req?.type).toMatch(/^multipart\/form-data; boundary=/);
    expect(req?.body).toContain('name="username"\r\n\r\na@b.pl');
    expect(req?.body).toContain('name="password"\r\n\r\nhaslo123');
  });

  it("sends the token and reports the API's refusal with its detail", async () => {
    client.storeToken('t1');
    const booking = { patient_id: 1, date: '2025-11-25', start_time: '10:00', end_time: '10:50', price: 150 };
    await expect(endpoints.createAppointment(booking)).rejects.toMatchObject({
      status: 400, message: 'Wizyta koliduje z inną wizytą w tym terminie',
    });
    expect(seen.at(-1)?.auth).toBe('Bearer t1');
    expect(JSON.parse(seen.at(-1)?.body ?? '')).toEqual(booking);
  });

  it('calls the unauthorized handler when the API refuses the token', async () => {
    client.storeToken('t1');
    const handler = vi.fn();
    client.setUnauthorizedHandler(handler);
    await expect(endpoints.listPatients()).rejects.toMatchObject({ status: 401 });
    expect(handler).toHaveBeenCalledOnce();
    expect(seen.at(-1)?.url).toBe('/api/patients?limit=1000');
  });

  it('turns a non-JSON error page into a Polish message', async () => {
    await expect(endpoints.getPayment(1)).rejects.toMatchObject({
      status: 502, message: 'Błąd serwera. Spróbuj ponownie za chwilę.',
    });
  });

  it('reports a network failure as such', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    vi.stubEnv('VITE_API_URL', `http://127.0.0.1:${port}`);
    vi.resetModules();
    const offline = await import('./endpoints');
    await expect(offline.listPatients()).rejects.toMatchObject({ status: 0, message: NETWORK_MESSAGE });
  });
});
