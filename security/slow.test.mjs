// Slow and half-open clients: a connection that sends nothing, stops inside its headers or inside its body is
// closed by the proxy after its idle timeout (PROXY_CONNECTION_TIMEOUT, 2 s here); while hundreds of such
// connections are open, from several addresses or up to the per-address cap from one, /health still answers
// within a second and the API keeps working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Proxy, newPractice } from '../proxy/test/http/harness.mjs';
import { healthWithin } from './net.mjs';

const TIMEOUT_S = 2;
let proxy;
let token;
before(async () => {
  proxy = await Proxy.start({ PROXY_CONNECTION_TIMEOUT: String(TIMEOUT_S) });
  ({ token } = await newPractice(proxy, 'slow'));
});
after(async () => { await proxy?.stop(); });

const STALLS = {
  idle: '',
  partial_request_line: 'GET /hea',
  partial_headers: 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ',
  partial_body: 'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"user',
  partial_chunked: 'POST /auth/register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"email"',
};

// Opens a connection from localAddress that sends stall and then nothing. Resolves once connected with the
// socket; socket.closedAt is set when the server closes it (socket.answer collects what it sent).
function stalled(stall, localAddress = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port: proxy.port, host: '127.0.0.1', localAddress }, () => {
      sock.openedAt = Date.now();
      if (stall) sock.write(stall);
      resolve(sock);
    });
    sock.answer = '';
    sock.on('data', (d) => { sock.answer += d; });
    sock.on('error', () => {});
    sock.on('close', () => { sock.closedAt ??= Date.now(); });
    sock.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('idle and stalled clients are cut after the idle timeout', async () => {
  const socks = Object.fromEntries(await Promise.all(Object.entries(STALLS).map(async ([k, v]) => [k, await stalled(v)])));
  await sleep(500);
  for (const [name, s] of Object.entries(socks)) assert.equal(s.closedAt, undefined, `${name} closed too early`);
  await sleep((TIMEOUT_S + 3) * 1000);
  for (const [name, s] of Object.entries(socks)) {
    assert.ok(s.closedAt, `${name} still open ${TIMEOUT_S + 3.5} s later`);
    assert.ok(s.closedAt - s.openedAt >= TIMEOUT_S * 1000 - 300, `${name} closed after ${s.closedAt - s.openedAt} ms`);
    s.destroy();
  }
});

test('400 half-open connections from four addresses: /health answers within a second, the API works', async () => {
  const socks = [];
  const kinds = Object.values(STALLS);
  for (let i = 0; i < 400; i++) socks.push(stalled(kinds[i % kinds.length], `127.0.0.${2 + (i % 4)}`));
  const open = await Promise.all(socks);
  await sleep(200);
  for (let i = 0; i < 5; i++) assert.equal(await healthWithin(proxy.port, 1000), 200);
  const list = await proxy.call('GET', '/patients', { token });
  assert.equal(list.status, 200);
  assert.ok(open.filter((s) => s.closedAt === undefined).length >= 390, 'the half-open connections stayed open');
  // And the proxy cuts them all after its timeout.
  await sleep((TIMEOUT_S + 3) * 1000);
  assert.deepEqual(open.filter((s) => s.closedAt === undefined).length, 0);
  open.forEach((s) => s.destroy());
  assert.equal(await healthWithin(proxy.port, 1000), 200);
});

test('one address holding its whole connection quota does not lock out the others', async () => {
  // 300 from one address: 256 (PROXY_MAX_CONNECTIONS_PER_IP) are held, the rest refused at once.
  const open = await Promise.all(Array.from({ length: 300 }, () => stalled('GET / HTTP/1.1\r\n', '127.0.0.9')));
  await sleep(500);
  const refused = open.filter((s) => s.closedAt !== undefined).length;
  assert.ok(refused >= 40 && refused <= 50, `${refused} of 300 refused`);
  for (let i = 0; i < 3; i++) assert.equal(await healthWithin(proxy.port, 1000), 200);
  open.forEach((s) => s.destroy());
});
