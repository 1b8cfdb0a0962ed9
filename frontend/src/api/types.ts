// The payloads of the REST contract (shared/api-contract.md).

export interface Patient {
  id: number;
  name: string;
  phone: string | null;
  email: string | null;
  notes: string | null;
  created_at: string;
  /** The patient's consent to reminders per channel, and when it was last given or withdrawn. */
  reminder_email?: boolean;
  reminder_sms?: boolean;
  reminder_email_changed_at?: string | null;
  reminder_sms_changed_at?: string | null;
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
  status: AppointmentStatus;
  /** Set exactly when the status is cancelled. */
  cancel_reason: CancelReason | null;
  /** The patient cancelled less than the practice's late_cancel_hours before the start: still due. */
  late_cancellation: boolean;
  series_id: number | null;
}

export type AppointmentStatus = 'scheduled' | 'completed' | 'cancelled' | 'no_show';
export type CancelReason = 'patient' | 'therapist';

/** GET/PUT /settings */
export interface Settings {
  late_cancel_hours: number;
  timezone: string;
}

/** POST /appointment_series (without dry_run: the series; with it: a SeriesPreview). */
export interface SeriesInput {
  patient_id: number;
  start_date: string;
  start_time: string;
  end_time: string;
  price: number;
  interval_weeks: number;
  skip_holidays: boolean;
  count?: number;
  until?: string;
}

export interface SeriesPreview {
  dry_run: true;
  dates: string[];
  skipped_holidays: { date: string; name: string }[];
  conflicts: string[];
}

export interface AppointmentSeries {
  id: number;
  patient_id: number;
  interval_weeks: number;
  skip_holidays: boolean;
  appointments: Appointment[];
}

/** GET /statistics/appointments */
export interface AppointmentStatistics {
  scheduled_count: number;
  completed_count: number;
  no_show_count: number;
  cancelled_late_count: number;
  cancelled_on_time_count: number;
  cancelled_by_therapist_count: number;
  late_cancellation_due: number;
  no_show_due: number;
  unpaid_due: number;
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

export type PatientInput = {
  name: string; phone: string | null; email: string | null; notes: string | null;
  reminder_email?: boolean; reminder_sms?: boolean;
};

export interface ReminderSettings {
  email_enabled: boolean;
  sms_enabled: boolean;
  hours_before: number;
  practice_name: string;
  email_subject: string;
  email_body: string;
  sms_body: string;
  /** A running notifier can send on the channel (SMTP_URL, SMSAPI_TOKEN set). */
  email_available: boolean;
  sms_available: boolean;
  sms_max_length: number;
}

export type ReminderStatus = 'pending' | 'sent' | 'failed' | 'cancelled';

export interface Reminder {
  id: number;
  kind: 'reminder' | 'test';
  appointment_id: number | null;
  patient_id: number | null;
  channel: 'email' | 'sms';
  status: ReminderStatus;
  starts_at: string | null;
  send_at: string;
  sent_at: string | null;
  attempts: number;
  last_error: string | null;
}

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
