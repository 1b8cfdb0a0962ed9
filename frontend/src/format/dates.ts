// Dates travel as "YYYY-MM-DD" and times as "HH:MM:SS"; both are the therapist's local time.
// Helpers here take and return those strings, so no time zone can shift a day.

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

export function toIsoDate(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Local midnight of an ISO date (new Date("2025-01-31") would be UTC midnight). */
export function parseIsoDate(iso: string): Date {
  const [y, m, d] = iso.split('-').map(Number);
  return new Date(y ?? 0, (m ?? 1) - 1, d ?? 1);
}

export function isIsoDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  return toIsoDate(parseIsoDate(text)) === text;
}

export function today(): string {
  return toIsoDate(new Date());
}

export function addDays(iso: string, days: number): string {
  const d = parseIsoDate(iso);
  d.setDate(d.getDate() + days);
  return toIsoDate(d);
}

export function addMonths(iso: string, months: number): string {
  const d = parseIsoDate(iso);
  return toIsoDate(new Date(d.getFullYear(), d.getMonth() + months, 1));
}

/** Monday of the week holding the date (Polish weeks start on Monday). */
export function startOfWeek(iso: string): string {
  const weekday = (parseIsoDate(iso).getDay() + 6) % 7;
  return addDays(iso, -weekday);
}

export function startOfMonth(iso: string): string {
  return `${iso.slice(0, 8)}01`;
}

export function endOfMonth(iso: string): string {
  return addDays(addMonths(iso, 1), -1);
}

export function weekDays(iso: string): string[] {
  const monday = startOfWeek(iso);
  return Array.from({ length: 7 }, (_, i) => addDays(monday, i));
}

/** Whole weeks (Monday to Sunday) covering the month of the date. */
export function monthGrid(iso: string): string[][] {
  const last = endOfMonth(iso);
  const weeks: string[][] = [];
  for (let monday = startOfWeek(startOfMonth(iso)); monday <= last; monday = addDays(monday, 7)) {
    weeks.push(weekDays(monday));
  }
  return weeks;
}

const dateFormat = new Intl.DateTimeFormat('pl-PL', { day: '2-digit', month: '2-digit', year: 'numeric' });
const longDateFormat = new Intl.DateTimeFormat('pl-PL', {
  weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
});
const dayFormat = new Intl.DateTimeFormat('pl-PL', { weekday: 'short', day: 'numeric', month: 'numeric' });
const monthFormat = new Intl.DateTimeFormat('pl-PL', { month: 'long', year: 'numeric' });
const timestampFormat = new Intl.DateTimeFormat('pl-PL', { dateStyle: 'short', timeStyle: 'short' });

/** "2025-11-25" → "25.11.2025" */
export function formatDate(iso: string): string {
  return dateFormat.format(parseIsoDate(iso));
}

/** "2025-11-25" → "wtorek, 25 listopada 2025" */
export function formatDateLong(iso: string): string {
  return longDateFormat.format(parseIsoDate(iso));
}

/** "2025-11-25" → "wt., 25.11" */
export function formatDay(iso: string): string {
  return dayFormat.format(parseIsoDate(iso));
}

/** "2025-11-25" → "listopad 2025" */
export function formatMonth(iso: string): string {
  return monthFormat.format(parseIsoDate(iso));
}

/** The local day of an ISO 8601 timestamp with offset (payment_date): "2026-11-30T23:30:00Z" → "2026-12-01" in Warsaw. */
export function dayOf(timestamp: string): string {
  return toIsoDate(new Date(timestamp));
}

/** An ISO 8601 timestamp with offset, in the browser's local time. */
export function formatTimestamp(timestamp: string): string {
  return timestampFormat.format(new Date(timestamp));
}

/** "14:05:00" or "14:05" → "14:05" */
export function formatTime(time: string): string {
  return time.slice(0, 5);
}

export function isTime(text: string): boolean {
  return /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/.test(text);
}

export function timeToMinutes(time: string): number {
  const [h, m] = time.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Minutes since midnight → "HH:MM", capped at 23:59 so a slot never spills into the next day. */
export function minutesToTime(minutes: number): string {
  const m = Math.min(Math.max(minutes, 0), 23 * 60 + 59);
  return `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
}

/** The browser's local date and time now, as a datetime-local input holds it: "2025-11-25T10:30". */
export function nowLocal(now: Date = new Date()): string {
  return `${toIsoDate(now)}T${pad(now.getHours())}:${pad(now.getMinutes())}`;
}

export function isLocalDateTime(text: string): boolean {
  const [date = '', time = ''] = text.split('T');
  return isIsoDate(date) && /^([01]\d|2[0-3]):[0-5]\d$/.test(time);
}

/** "2025-11-25T10:30" (local) → "2025-11-25T10:30:00+01:00": the moment with the offset it had here. */
export function localToIso(local: string): string {
  const [date = '', time = '00:00'] = local.split('T');
  const [h, m] = time.split(':').map(Number);
  const d = parseIsoDate(date);
  d.setHours(h ?? 0, m ?? 0, 0, 0);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  return `${date}T${pad(h ?? 0)}:${pad(m ?? 0)}:00${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

/**
 * A payment's date as a datetime-local input shows it. The API answers a timestamp with an offset
 * ("2025-11-25T09:30:00+00:00"); an older answer, a bare date, is midnight of that day.
 */
export function toLocalInput(value: string): string {
  if (isIsoDate(value)) return `${value}T00:00`;
  return nowLocal(new Date(value));
}

/** The local day of a payment's date, "2025-11-25", for either shape the API may answer. */
export function localDay(value: string): string {
  return toLocalInput(value).slice(0, 10);
}

/** A payment's date to read: "25.11.2025, 10:30", or "25.11.2025" when the API gave only the day. */
export function formatDateTime(value: string): string {
  return isIsoDate(value) ? formatDate(value) : `${formatDate(localDay(value))}, ${toLocalInput(value).slice(11)}`;
}
