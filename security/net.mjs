// Plain-socket helpers for what fetch would not send or would normalise (raw bytes, dot segments, NULs), and
// the user-visible bound on /health.
import net from 'node:net';
import http from 'node:http';

// Sends bytes on a fresh connection and resolves with the whole answer once the server closes it (send
// "Connection: close"), or rejects after ms.
export function rawRequest(port, bytes, ms = 5000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    sock.setTimeout(ms, () => { sock.destroy(); reject(new Error(`no answer within ${ms} ms`)); });
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    sock.end(bytes);
  });
}

// The status code of rawRequest's answer (0 when the server closed without answering).
export async function rawStatus(port, bytes, ms) {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(await rawRequest(port, bytes, ms))?.[1] ?? 0);
}

// GET /health on a fresh connection; resolves with the status, rejects when no answer comes within ms.
export function healthWithin(port, ms) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: ms,
      headers: { connection: 'close' } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('timeout', () => { req.destroy(); reject(new Error(`/health did not answer within ${ms} ms`)); });
    req.on('error', reject);
  });
}
