// The contract's routes as typed functions, one per use case.
import { request, type Query } from './client';
import type {
  Appointment, AppointmentInput, AppointmentSeries, AppointmentStatistics, AppointmentStatus, AuditAction, AuditEntry,
  CancelReason, Patient, PatientExport, PatientInput, Payment, PaymentInput, PaymentPage, PaymentStatistics,
  PaymentWithPatient, Reminder, ReminderSettings, ReminderStatus, SeriesInput, SeriesPreview, SessionNote, Settings,
} from './types';

interface Detail { detail: string }

export function login(email: string, password: string) {
  const form = new FormData();
  form.append('username', email);
  form.append('password', password);
  return request<{ access_token: string; token_type: string }>('POST', '/auth/login', { form });
}

export function register(email: string, password: string) {
  return request<{ id: number; email: string }>('POST', '/auth/register', { json: { email, password } });
}

/** Ends this token in the database: it answers 401 from then on (POST /auth/logout). */
export const logout = () => request<Detail>('POST', '/auth/logout');

/** Changes the password; every earlier token ends, the answer carries a fresh one (PUT /auth/password). */
export const changePassword = (currentPassword: string, newPassword: string) =>
  request<{ detail: string; access_token: string; token_type: string }>('PUT', '/auth/password', {
    json: { current_password: currentPassword, new_password: newPassword },
  });

// The largest page the API serves for patients and appointments.
export const MAX_LIMIT = 1000;

export const listPatients = () => request<Patient[]>('GET', '/patients', { query: { limit: MAX_LIMIT } });
export const getPatient = (id: number) => request<Patient>('GET', `/patients/${id}`);
export const createPatient = (p: PatientInput) => request<Patient>('POST', '/patients', { json: p });
export const updatePatient = (id: number, p: PatientInput) =>
  request<Patient>('PUT', `/patients/${id}`, { json: p });
export const archivePatient = (id: number) => request<Detail>('DELETE', `/patients/${id}`);
/** Brings back an archived patient with exactly the rows archived with them. */
export const restorePatient = (id: number) => request<Patient>('POST', `/patients/${id}/restore`);
export const exportPatient = (id: number) => request<PatientExport>('GET', `/patients/${id}/export`);

export const listAppointments = (query: { date_from?: string; date_to?: string; patient_id?: number }) =>
  request<Appointment[]>('GET', '/appointments', { query: { ...query, limit: MAX_LIMIT } });
export const getAppointment = (id: number) => request<Appointment>('GET', `/appointments/${id}`);
export const createAppointment = (a: AppointmentInput) =>
  request<Appointment>('POST', '/appointments', { json: a });
export const updateAppointment = (id: number, a: Partial<AppointmentInput>) =>
  request<Appointment>('PUT', `/appointments/${id}`, { json: a });
export const deleteAppointment = (id: number) => request<Detail>('DELETE', `/appointments/${id}`);
/** Marks what became of an appointment; a reason goes with cancelled only (the database refuses it otherwise). */
export const setAppointmentStatus = (id: number, status: AppointmentStatus, cancel_reason?: CancelReason) =>
  request<Appointment>('PUT', `/appointments/${id}`, { json: cancel_reason ? { status, cancel_reason } : { status } });

/** The dates a series would book, the holidays it would skip and the dates that collide: the database's answer. */
export const previewSeries = (s: SeriesInput) =>
  request<SeriesPreview>('POST', '/appointment_series', { json: { ...s, dry_run: true } });
export const createSeries = (s: SeriesInput) => request<AppointmentSeries>('POST', '/appointment_series', { json: s });
/** "Ta i następne": the scheduled appointments of the series from from_date on. */
export const updateSeriesFrom = (id: number, from_date: string, change: { start_time: string; end_time: string; price: number }) =>
  request<AppointmentSeries>('PATCH', `/appointment_series/${id}`, { json: { from_date, ...change } });
export const cancelSeriesFrom = (id: number, from: string) =>
  request<Detail & { cancelled: number }>('DELETE', `/appointment_series/${id}`, { query: { from } });

export const getSettings = () => request<Settings>('GET', '/settings');
export const updateSettings = (s: Partial<Settings>) => request<Settings>('PUT', '/settings', { json: s });
export const getCalendarFeed = () => request<{ enabled: boolean; created_at: string | null }>('GET', '/calendar_feed');
export const createCalendarFeed = () => request<{ url: string }>('POST', '/calendar_feed');
export const deleteCalendarFeed = () => request<Detail>('DELETE', '/calendar_feed');
export const appointmentStatistics = (dateFrom: string, dateTo: string) =>
  request<AppointmentStatistics>('GET', '/statistics/appointments', { query: { date_from: dateFrom, date_to: dateTo } });

export const listPatientNotes = (patientId: number) =>
  request<SessionNote[]>('GET', `/session_notes/${patientId}`, { query: { limit: MAX_LIMIT } });
export const getNote = (id: number) => request<SessionNote>('GET', `/session_notes/note/${id}`);
export const createNote = (patientId: number, content: string) =>
  request<SessionNote>('POST', '/session_notes', { json: { patient_id: patientId, content } });
export const updateNote = (id: number, content: string) =>
  request<SessionNote>('PUT', `/session_notes/note/${id}`, { json: { content } });
export const deleteNote = (id: number) => request<Detail>('DELETE', `/session_notes/${id}`);

export interface PaymentFilters {
  patient_id?: number;
  date_from?: string;
  date_to?: string;
  payment_method?: string;
  skip?: number;
  limit?: number;
}

export const listPayments = (filters: PaymentFilters) =>
  request<PaymentPage>('GET', '/payments', { query: filters as Query });
export const getPayment = (id: number) => request<PaymentWithPatient>('GET', `/payments/${id}`);
export const createPayment = (p: PaymentInput) => request<Payment>('POST', '/payments', { json: p });
export const updatePayment = (id: number, p: Omit<PaymentInput, 'patient_id'>) =>
  request<Payment>('PATCH', `/payments/${id}`, { json: p });
export const deletePayment = (id: number) => request<Detail>('DELETE', `/payments/${id}`);
export const unpaidAppointmentIds = (patientId: number) =>
  request<number[]>('GET', `/payments/patient/${patientId}/unpaid-appointments`);
export const paymentStatistics = (dateFrom: string, dateTo: string) =>
  request<PaymentStatistics>('GET', '/payments/statistics/summary', {
    query: { date_from: dateFrom, date_to: dateTo },
  });

export interface AuditFilters {
  patient_id?: number;
  action?: AuditAction;
  date_from?: string;
  date_to?: string;
  skip?: number;
  limit?: number;
}

/** The audit trail's hash chains recomputed by the database: intact, or the first row changed behind its back. */
export const verifyAudit = () =>
  request<{ ok: boolean; rows: number; first_bad_id: number | null }>('GET', '/audit/verify');

/** The practice's audit trail, newest first. */
export const listAudit = (filters: AuditFilters) =>
  request<AuditEntry[]>('GET', '/audit', { query: filters as Query });

// Reminders (issue 17)
export const getReminderSettings = () => request<ReminderSettings>('GET', '/settings/reminders');
export const updateReminderSettings = (s: Partial<ReminderSettings>) =>
  request<ReminderSettings>('PUT', '/settings/reminders', { json: s });
export const sendTestReminder = () => request<Detail>('POST', '/settings/reminders/test', { json: {} });
export const listReminders = (query: { status?: ReminderStatus; skip?: number; limit?: number }) =>
  request<Reminder[]>('GET', '/reminders', { query: query as Query });

// Password reset by e-mail
export const requestPasswordReset = (email: string) =>
  request<Detail>('POST', '/auth/password-reset', { json: { email } });
export const confirmPasswordReset = (token: string, newPassword: string) =>
  request<Detail>('POST', '/auth/password-reset/confirm', { json: { token, new_password: newPassword } });
