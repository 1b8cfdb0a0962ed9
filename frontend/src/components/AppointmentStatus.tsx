import type { Appointment, AppointmentStatus, CancelReason } from '../api/types';

/** What became of an appointment, in the words the SPA uses everywhere. */
export function statusLabel(a: Pick<Appointment, 'status' | 'cancel_reason'>): string {
  if (a.status === 'completed') return 'odbyta';
  if (a.status === 'no_show') return 'nieobecność';
  if (a.status === 'cancelled') return a.cancel_reason === 'therapist' ? 'odwołana przeze mnie' : 'odwołana przez pacjenta';
  return 'zaplanowana';
}

const BADGE: Record<AppointmentStatus, string> = {
  scheduled: 'bg-slate-100 text-slate-800',
  completed: 'bg-sky-100 text-sky-900',
  cancelled: 'bg-slate-200 text-slate-800 line-through decoration-slate-500',
  no_show: 'bg-rose-100 text-rose-900',
};

/** The status, and "późne odwołanie" when a late cancellation is still due. Nothing for a plain scheduled one. */
export function StatusBadge({ appointment: a, always = false }: { appointment: Appointment; always?: boolean }) {
  return (
    <>
      {(always || a.status !== 'scheduled') && (
        <span className={`rounded px-2 py-0.5 text-xs font-medium ${BADGE[a.status]}`}>{statusLabel(a)}</span>
      )}
      {a.late_cancellation && (
        <span className="rounded bg-orange-100 px-2 py-0.5 text-xs font-medium text-orange-900">późne odwołanie (płatne)</span>
      )}
    </>
  );
}

export interface StatusChoice { status: AppointmentStatus; reason?: CancelReason; label: string }

/** The actions on an appointment's status, the current one left out. */
export function statusChoices(a: Appointment): StatusChoice[] {
  const all: StatusChoice[] = [
    { status: 'completed', label: 'Odbyta' },
    { status: 'cancelled', reason: 'patient', label: 'Odwołana przez pacjenta' },
    { status: 'cancelled', reason: 'therapist', label: 'Odwołana przeze mnie' },
    { status: 'no_show', label: 'Nieobecność' },
    { status: 'scheduled', label: 'Przywróć jako zaplanowaną' },
  ];
  return all.filter((c) => !(c.status === a.status && (c.reason ?? null) === a.cancel_reason));
}
