// The contract's routes as typed functions, one per use case.
import { request, type Query } from './client';
import type {
  Appointment, AppointmentInput, AuditAction, AuditEntry, Patient, PatientExport, PatientInput, Payment, PaymentInput,
  PaymentPage, PaymentStatistics, PaymentWithPatient, SessionNote,
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

/** The practice's audit trail, newest first. */
export const listAudit = (filters: AuditFilters) =>
  request<AuditEntry[]>('GET', '/audit', { query: filters as Query });
