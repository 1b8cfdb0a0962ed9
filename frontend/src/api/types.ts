// The payloads of the REST contract (shared/api-contract.md).

export interface Patient {
  id: number;
  name: string;
  phone: string | null;
  email: string | null;
  notes: string | null;
  created_at: string;
}

export interface Appointment {
  id: number;
  patient_id: number;
  date: string;
  start_time: string;
  end_time: string;
  session_note_id: number | null;
  is_paid: boolean;
  price: number;
  created_at: string;
}

export interface SessionNote {
  id: number;
  patient_id: number;
  content: string;
  created_at: string;
}

export type PaymentMethod = 'CASH' | 'TRANSFER';

export type PaidAppointment = Pick<
  Appointment, 'id' | 'patient_id' | 'date' | 'start_time' | 'end_time' | 'is_paid' | 'price'
>;

export interface Payment {
  id: number;
  patient_id: number;
  amount: number;
  payment_method: PaymentMethod;
  description: string | null;
  /** a timestamp with offset; an older API answers only the day, "YYYY-MM-DD" */
  payment_date: string;
  created_at: string;
  updated_at: string;
  appointments: PaidAppointment[];
}

export interface PaymentWithPatient extends Payment {
  patient_name: string;
  patient_email: string | null;
  patient_phone: string | null;
}

export interface PaymentPage {
  total: number;
  payments: PaymentWithPatient[];
}

export interface PaymentStatistics {
  total_payments: number;
  total_amount: number;
  cash_amount: number;
  transfer_amount: number;
  cash_count: number;
  transfer_count: number;
}

export type PatientInput = { name: string; phone: string | null; email: string | null; notes: string | null };

export type AppointmentInput = Pick<Appointment, 'patient_id' | 'date' | 'start_time' | 'end_time' | 'price'> & {
  session_note_id?: number | null;
};

export interface PaymentInput {
  patient_id: number;
  amount: number;
  payment_method: PaymentMethod;
  appointment_ids: number[];
  description: string | null;
  /** ISO 8601 with offset; the API keeps the moment (older installs only its day) */
  payment_date: string;
}

export type AuditAction = 'read' | 'create' | 'update' | 'delete' | 'export';

/** One request that read or changed patient data (GET /audit). */
export interface AuditEntry {
  id: number;
  at: string;
  user_id: number;
  action: AuditAction;
  /** "GET /patients/{id}"; null for a change made outside the API (e.g. the database console). */
  route: string | null;
  patient_ids: number[];
  client_addr: string | null;
}

/** Everything stored about one patient, archived rows included (GET /patients/{id}/export). */
export interface PatientExport {
  patient: Patient & { deleted_at: string | null };
  appointments: object[];
  session_notes: object[];
  payments: object[];
  access_log: { at: string; user_id: number; action: AuditAction; route: string | null }[];
}
