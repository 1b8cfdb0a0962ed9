// What poolers and repeated requests rely on: with DB_PREPARED_STATEMENTS=0 (pgbouncer in transaction mode) every
// call goes out as an unnamed statement and answers exactly as a prepared one, errors included; a token verified
// once keeps working, while a copy of it with one byte changed is refused every time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy, newPractice, expectError, signToken, decodeClaims } from './harness.mjs';

test('DB_PREPARED_STATEMENTS=0: answers, errors and statuses as with prepared statements', async () => {
  const proxy = await Proxy.start({ DB_PREPARED_STATEMENTS: '0' });
  try {
    const { token, email } = await newPractice(proxy, 'unnamed');
    const call = (method, path, body) => proxy.call(method, path, { token, body });
    // Twice each: a second call on the same connection must not find anything left from the first.
    for (let round = 0; round < 2; round++) {
      const patient = await call('POST', '/patients', { name: `Pacjent ${round}` });
      assert.equal(patient.status, 200, patient.text);
      const list = await call('GET', '/patients?limit=10');
      assert.equal(list.status, 200);
      assert.equal(list.json.length, round + 1);
      const visit = await call('POST', '/appointments', {
        patient_id: patient.json.id, date: '2031-01-0' + (round + 1), start_time: '10:00', end_time: '10:50', price: 150,
      });
      assert.equal(visit.status, 200, visit.text);
      expectError(await call('POST', '/appointments', {
        patient_id: patient.json.id, date: '2031-01-0' + (round + 1), start_time: '10:30', end_time: '11:00', price: 150,
      }), 400, 'Wizyta koliduje z inną wizytą w tym terminie');
      expectError(await call('GET', '/patients/999999999'), 404, 'Pacjent nie został znaleziony');
      expectError(await call('GET', '/appointments?date_from=jutro'), 422);
    }
    // A failed login answers 401 through response.status, the same way.
    expectError(await proxy.call('POST', '/auth/login', { body: { username: email, password: 'zle-haslo-1' } }), 401,
      'Nieprawidłowy email lub hasło');
  } finally {
    await proxy.stop();
  }
});

test('a verified token keeps working; a copy with one byte changed is refused each time', async () => {
  const proxy = await Proxy.start();
  try {
    const { token } = await newPractice(proxy, 'cache');
    const [head, body, sig] = token.split('.');
    const flipped = sig[5] === 'A' ? 'B' : 'A';
    const tampered = `${head}.${body}.${sig.slice(0, 5)}${flipped}${sig.slice(6)}`;
    // The same claims signed again with a later iat: valid, but not the cached bytes.
    const resigned = signToken({ ...decodeClaims(token), iat: decodeClaims(token).iat + 1 });
    for (let round = 0; round < 3; round++) {
      assert.equal((await proxy.call('GET', '/patients', { token })).status, 200);
      expectError(await proxy.call('GET', '/patients', { token: tampered }), 401, 'Could not validate credentials');
      assert.equal((await proxy.call('GET', '/patients', { token: resigned })).status, 200);
    }
    const expired = signToken({ ...decodeClaims(token), exp: Math.floor(Date.now() / 1000) - 1 });
    expectError(await proxy.call('GET', '/patients', { token: expired }), 401);
  } finally {
    await proxy.stop();
  }
});
