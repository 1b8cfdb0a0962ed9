import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import type { Appointment, Patient } from '../api/types';
import { formatDate, formatTime } from '../format/dates';
import { formatMoney } from '../format/money';
import { StatusBadge } from './AppointmentStatus';

export function PaidBadge({ paid }: { paid: boolean }) {
  return paid ? (
    <span className="rounded bg-emerald-100 px-2 py-0.5 text-xs font-medium text-emerald-800">opłacona</span>
  ) : (
    <span className="rounded bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-900">nieopłacona</span>
  );
}

/**
 * Appointments as rows: when, who (unless the list is one patient's), price, paid or not, whether a
 * note is linked, and `actions` for each when given.
 */
export function AppointmentList({ appointments, patients, empty, actions }: {
  appointments: readonly Appointment[];
  patients?: ReadonlyMap<number, Patient>;
  empty: string;
  actions?: (a: Appointment) => ReactNode;
}) {
  if (appointments.length === 0) return <p className="text-sm text-slate-500">{empty}</p>;
  return (
    <ul className="divide-y divide-slate-100">
      {appointments.map((a) => (
        <li key={a.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2 text-sm">
          <span className="tabular-nums">
            {formatDate(a.date)}, {formatTime(a.start_time)}–{formatTime(a.end_time)}
          </span>
          {patients && (
            <Link className="link font-medium" to={`/pacjenci/${a.patient_id}`}>
              {patients.get(a.patient_id)?.name ?? `Pacjent #${a.patient_id}`}
            </Link>
          )}
          <span className="ml-auto flex items-center gap-2">
            <StatusBadge appointment={a} />
            {a.session_note_id !== null && (
              <span className="rounded bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-700">z notatką</span>
            )}
            <span className="tabular-nums">{formatMoney(a.price)}</span>
            <PaidBadge paid={a.is_paid} />
          </span>
          {actions && <span className="flex w-full flex-wrap justify-end gap-1 sm:w-auto">{actions(a)}</span>}
        </li>
      ))}
    </ul>
  );
}
