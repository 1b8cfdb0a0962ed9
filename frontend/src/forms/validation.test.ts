import { describe, expect, it } from 'vitest';
import {
  hasErrors, validateAppointment, validateLogin, validateNote, validatePasswordChange, validatePatient, validatePayment,
  validateRegistration,
} from './validation';

describe('login and registration', () => {
  it('needs an email and a password', () => {
    expect(validateLogin({ email: '', password: '' })).toEqual({ email: 'Podaj adres email.', password: 'Podaj hasło.' });
    expect(validateLogin({ email: 'nie-email', password: 'x' }).email).toBe('Nieprawidłowy adres email.');
    expect(hasErrors(validateLogin({ email: 'a@b.pl', password: 'x' }))).toBe(false);
  });
  it('asks for 8 characters and the same password twice', () => {
    const e = validateRegistration({ email: 'a@b.pl', password: 'krotkie', repeat: 'inne' });
    expect(e.password).toMatch(/8 znaków/);
    expect(e.repeat).toBe('Hasła nie są takie same.');
    expect(hasErrors(validateRegistration({ email: 'a@b.pl', password: 'dlugiehaslo', repeat: 'dlugiehaslo' }))).toBe(false);
  });
});

describe('password change', () => {
  it('needs the current password and a new one of 8 characters, typed twice, different from the current', () => {
    expect(validatePasswordChange({ current: '', password: '', repeat: '' })).toEqual({
      current: 'Podaj obecne hasło.', password: 'Podaj nowe hasło.',
    });
    expect(validatePasswordChange({ current: 'stare-haslo', password: 'krotkie', repeat: 'krotkie' }).password).toMatch(/8 znaków/);
    expect(validatePasswordChange({ current: 'stare-haslo', password: 'stare-haslo', repeat: 'stare-haslo' }).password)
      .toBe('Nowe hasło musi różnić się od obecnego.');
    expect(validatePasswordChange({ current: 'stare-haslo', password: 'nowe-haslo', repeat: 'inne' }).repeat)
      .toBe('Hasła nie są takie same.');
    expect(hasErrors(validatePasswordChange({ current: 'stare-haslo', password: 'nowe-haslo', repeat: 'nowe-haslo' })))
      .toBe(false);
  });
});

describe('patient', () => {
  it('needs a name; email and phone only when given must be valid', () => {
    expect(validatePatient({ name: '  ', phone: '', email: '', notes: '' }).name).toBeDefined();
    expect(hasErrors(validatePatient({ name: 'Anna Nowak', phone: '', email: '', notes: '' }))).toBe(false);
    expect(validatePatient({ name: 'A', phone: 'abc', email: 'x@', notes: '' })).toMatchObject({
      phone: expect.any(String), email: 'Nieprawidłowy adres email.',
    });
    expect(hasErrors(validatePatient({ name: 'A', phone: '+48 600-100-200', email: 'a@b.pl', notes: '' }))).toBe(false);
  });
});

describe('appointment', () => {
  const ok = { patient_id: '1', date: '2025-11-25', start_time: '10:00', end_time: '10:50', price: '150' };
  it('accepts a valid booking', () => {
    expect(hasErrors(validateAppointment(ok))).toBe(false);
  });
  it('refuses an end not after the start, a bad date and a price that is not positive', () => {
    expect(validateAppointment({ ...ok, end_time: '10:00' }).end_time).toBe('Wizyta musi kończyć się po rozpoczęciu.');
    expect(validateAppointment({ ...ok, date: '2025-02-30' }).date).toBeDefined();
    expect(validateAppointment({ ...ok, price: '0' }).price).toBe('Cena musi być większa od zera.');
    expect(validateAppointment({ ...ok, price: 'sto' }).price).toBeDefined();
    expect(validateAppointment({ ...ok, patient_id: '' }).patient_id).toBe('Wybierz pacjenta.');
  });
});

describe('note', () => {
  it('refuses blank content', () => {
    expect(validateNote({ content: ' \n ' }).content).toBeDefined();
    expect(validateNote({ content: 'Sesja 1' })).toEqual({});
  });
});

describe('payment', () => {
  const prices = new Map([[1, 150], [2, 150.5]]);
  const ok = {
    patient_id: '1', amount: '300,50', payment_method: 'CASH', payment_date: '2025-11-25T10:30', description: '',
    appointment_ids: [1, 2],
  };
  it('accepts an amount covering the chosen appointments', () => {
    expect(hasErrors(validatePayment(ok, prices))).toBe(false);
    expect(hasErrors(validatePayment({ ...ok, amount: '400' }, prices))).toBe(false);
  });
  it('refuses less than their sum, no appointment, or an unknown method', () => {
    expect(validatePayment({ ...ok, amount: '300,49' }, prices).amount).toMatch(/mniejsza/);
    expect(validatePayment({ ...ok, appointment_ids: [] }, prices).appointment_ids).toBeDefined();
    expect(validatePayment({ ...ok, payment_method: 'CARD' }, prices).payment_method).toBeDefined();
    expect(validatePayment({ ...ok, payment_date: '2025-11-25' }, prices).payment_date).toBeDefined();
  });
});
