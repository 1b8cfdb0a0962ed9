// The audit trail in words a therapist reads: what kind of access, on which screen's data, by whom.
import type { AuditAction, AuditEntry } from '../api/types';

export const ACTION_LABELS: Record<AuditAction, string> = {
  read: 'Odczyt',
  create: 'Dodanie',
  update: 'Zmiana',
  delete: 'Usunięcie',
  export: 'Eksport',
};

/** Every audited route of the API (proxy/openapi.json), as "METHOD pattern" → the data it touched. */
export const ROUTE_LABELS: Readonly<Record<string, string>> = {
  'GET /patients': 'lista pacjentów',
  'POST /patients': 'nowy pacjent',
  'GET /patients/{id}': 'karta pacjenta',
  'PUT /patients/{id}': 'dane pacjenta',
  'DELETE /patients/{id}': 'pacjent (do archiwum)',
  'GET /patients/{id}/export': 'wszystkie dane pacjenta (plik)',
  'GET /appointments': 'lista wizyt',
  'POST /appointments': 'nowa wizyta',
  'GET /appointments/{id}': 'wizyta',
  'PUT /appointments/{id}': 'wizyta',
  'DELETE /appointments/{id}': 'wizyta',
  'GET /session_notes': 'lista notatek',
  'POST /session_notes': 'nowa notatka',
  'GET /session_notes/{patient_id}': 'notatki pacjenta',
  'GET /session_notes/note/{id}': 'notatka',
  'PUT /session_notes/note/{id}': 'notatka',
  'DELETE /session_notes/{id}': 'notatka',
  'GET /payments': 'lista płatności',
  'POST /payments': 'nowa płatność',
  'GET /payments/{id}': 'płatność',
  'PATCH /payments/{id}': 'płatność',
  'DELETE /payments/{id}': 'płatność',
  'GET /payments/patient/{patient_id}/unpaid-appointments': 'nieopłacone wizyty pacjenta',
  'GET /payments/statistics/summary': 'statystyki płatności',
  'GET /statistics/appointments': 'statystyki wizyt',
  'POST /appointment_series': 'nowa seria wizyt',
  'GET /appointment_series/{id}': 'seria wizyt',
  'PATCH /appointment_series/{id}': 'seria wizyt',
  'DELETE /appointment_series/{id}': 'seria wizyt (odwołanie)',
  'POST /calendar_feed': 'adres kalendarza do subskrypcji',
  'DELETE /calendar_feed': 'adres kalendarza do subskrypcji',
  'GET /calendar/{token}.ics': 'kalendarz w subskrypcji (inicjały pacjentów)',
};

/**
 * What an entry did, e.g. "Odczyt: karta pacjenta". A route this list does not know yet is shown
 * as it is; no route means the change came from outside the application (the database console).
 */
export function describeEntry(entry: Pick<AuditEntry, 'action' | 'route'>): string {
  const what = entry.route === null ? 'poza aplikacją (konsola bazy danych)' : ROUTE_LABELS[entry.route] ?? entry.route;
  return `${ACTION_LABELS[entry.action] ?? entry.action}: ${what}`;
}

/** Who made the request: the logged-in user by email, anyone else by number. */
export function userLabel(userId: number, me: { id: number; email: string | null } | null): string {
  if (me && me.id === userId) return me.email ? `Ty (${me.email})` : 'Ty';
  return `Użytkownik nr ${userId}`;
}
