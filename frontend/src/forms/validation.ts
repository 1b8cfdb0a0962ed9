// Checks a form before it is sent, with the messages shown beside the fields. The API checks
// again; these only spare the user a round trip and say what to fix in Polish.
import { isIsoDate, isLocalDateTime, isTime, timeToMinutes } from '../format/dates';
import { parseMoney, sumMoney } from '../format/money';

export type Errors<T> = Partial<Record<keyof T, string>>;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const MIN_PASSWORD = 8;

export function hasErrors<T>(errors: Errors<T>): boolean {
  return Object.values(errors).some(Boolean);
}

export interface Credentials { email: string; password: string }

export function validateLogin(v: Credentials): Errors<Credentials> {
  const e: Errors<Credentials> = {};
  if (!v.email.trim()) e.email = 'Podaj adres email.';
  else if (!EMAIL.test(v.email.trim())) e.email = 'Nieprawidłowy adres email.';
  if (!v.password) e.password = 'Podaj hasło.';
  return e;
}

export interface Registration extends Credentials { repeat: string }

export function validateRegistration(v: Registration): Errors<Registration> {
  const e: Errors<Registration> = validateLogin(v);
  if (v.password && v.password.length < MIN_PASSWORD) e.password = `Hasło musi mieć co najmniej ${MIN_PASSWORD} znaków.`;
  if (v.repeat !== v.password) e.repeat = 'Hasła nie są takie same.';
  return e;
}

export interface PasswordChange { current: string; password: string; repeat: string }

export function validatePasswordChange(v: PasswordChange): Errors<PasswordChange> {
  const e: Errors<PasswordChange> = {};
  if (!v.current) e.current = 'Podaj obecne hasło.';
  if (!v.password) e.password = 'Podaj nowe hasło.';
  else if (v.password.length < MIN_PASSWORD) e.password = `Hasło musi mieć co najmniej ${MIN_PASSWORD} znaków.`;
  else if (v.password === v.current) e.password = 'Nowe hasło musi różnić się od obecnego.';
  if (v.repeat !== v.password) e.repeat = 'Hasła nie są takie same.';
  return e;
}

export interface PatientForm { name: string; phone: string; email: string; notes: string }

export function validatePatient(v: PatientForm): Errors<PatientForm> {
  const e: Errors<PatientForm> = {};
  if (!v.name.trim()) e.name = 'Podaj imię i nazwisko.';
  else if (v.name.trim().length > 200) e.name = 'Imię i nazwisko może mieć najwyżej 200 znaków.';
  if (v.email.trim() && !EMAIL.test(v.email.trim())) e.email = 'Nieprawidłowy adres email.';
  if (v.phone.trim() && !/^[+\d][\d\s()-]{2,24}$/.test(v.phone.trim())) {
    e.phone = 'Numer telefonu może zawierać cyfry, spacje, nawiasy, myślniki i + na początku.';
  }
  return e;
}

/** The patient form with consents: a consent needs somewhere to send to (the database checks it too). */
export interface PatientConsentForm extends PatientForm { reminder_email: boolean; reminder_sms: boolean }

export function validatePatientConsent(v: PatientConsentForm): Errors<PatientConsentForm> {
  const e: Errors<PatientConsentForm> = validatePatient(v);
  if (v.reminder_email && !v.email.trim()) e.reminder_email = 'Zgoda na przypomnienia e-mail wymaga adresu e-mail.';
  if (v.reminder_sms && !v.phone.trim()) e.reminder_sms = 'Zgoda na przypomnienia SMS wymaga numeru telefonu.';
  return e;
}

export interface NewPassword { password: string; repeat: string }

export function validateNewPassword(v: NewPassword): Errors<NewPassword> {
  const e: Errors<NewPassword> = {};
  if (v.password.length < MIN_PASSWORD) e.password = `Hasło musi mieć co najmniej ${MIN_PASSWORD} znaków.`;
  if (v.repeat !== v.password) e.repeat = 'Hasła nie są takie same.';
  return e;
}

export function validateEmail(v: { email: string }): Errors<{ email: string }> {
  if (!v.email.trim()) return { email: 'Podaj adres email.' };
  return EMAIL.test(v.email.trim()) ? {} : { email: 'Nieprawidłowy adres email.' };
}

export interface AppointmentForm {
  patient_id: string;
  date: string;
  start_time: string;
  end_time: string;
  price: string;
}

export function validateAppointment(v: AppointmentForm): Errors<AppointmentForm> {
  const e: Errors<AppointmentForm> = {};
  if (!v.patient_id) e.patient_id = 'Wybierz pacjenta.';
  if (!isIsoDate(v.date)) e.date = 'Podaj poprawną datę.';
  if (!isTime(v.start_time)) e.start_time = 'Podaj godzinę rozpoczęcia (GG:MM).';
  if (!isTime(v.end_time)) e.end_time = 'Podaj godzinę zakończenia (GG:MM).';
  else if (isTime(v.start_time) && timeToMinutes(v.end_time) <= timeToMinutes(v.start_time)) {
    e.end_time = 'Wizyta musi kończyć się po rozpoczęciu.';
  }
  const price = parseMoney(v.price);
  if (price === null) e.price = 'Podaj cenę, np. 150 lub 150,50.';
  else if (price <= 0) e.price = 'Cena musi być większa od zera.';
  return e;
}

export interface NoteForm { content: string }

export function validateNote(v: NoteForm): Errors<NoteForm> {
  return v.content.trim() ? {} : { content: 'Notatka nie może być pusta.' };
}

export interface PaymentForm {
  patient_id: string;
  amount: string;
  payment_method: string;
  /** local date and time, as a datetime-local input holds it: "2025-11-25T10:30" */
  payment_date: string;
  description: string;
  appointment_ids: number[];
}

/** `prices` are the prices of the appointments the form offers, by id. */
export function validatePayment(v: PaymentForm, prices: ReadonlyMap<number, number>): Errors<PaymentForm> {
  const e: Errors<PaymentForm> = {};
  if (!v.patient_id) e.patient_id = 'Wybierz pacjenta.';
  if (v.appointment_ids.length === 0) e.appointment_ids = 'Zaznacz co najmniej jedną wizytę.';
  if (v.payment_method !== 'CASH' && v.payment_method !== 'TRANSFER') e.payment_method = 'Wybierz formę płatności.';
  if (!isLocalDateTime(v.payment_date)) e.payment_date = 'Podaj poprawną datę i godzinę płatności.';
  const amount = parseMoney(v.amount);
  const due = sumMoney(v.appointment_ids.map((id) => prices.get(id) ?? 0));
  if (amount === null) e.amount = 'Podaj kwotę, np. 300 lub 300,50.';
  else if (amount < due) e.amount = 'Kwota jest mniejsza niż suma cen zaznaczonych wizyt.';
  return e;
}
