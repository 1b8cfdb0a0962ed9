import { useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { listAppointments } from '../api/endpoints';
import type { Appointment, Patient } from '../api/types';
import { usePatients } from '../api/usePatients';
import { useResource } from '../api/useResource';
import { Alert } from '../components/Alert';
import { ScreenTitle } from '../components/ScreenTitle';
import { useToast } from '../components/Toast';
import {
  addDays, addMonths, formatDate, formatDateLong, formatDay, formatMonth, formatTime, isIsoDate, minutesToTime,
  monthGrid, timeToMinutes, today, weekDays,
} from '../format/dates';
import { statusLabel } from '../components/AppointmentStatus';
import { formatMoney, sumMoney } from '../format/money';
import { AppointmentDialog, type Slot } from './AppointmentDialog';
import { AppointmentNoteDialog } from './AppointmentNoteDialog';
import { PayAppointmentDialog } from './PayAppointmentDialog';

type View = 'dzien' | 'tydzien' | 'miesiac';
const VIEWS: readonly { view: View; label: string; step: [string, string] }[] = [
  { view: 'dzien', label: 'Dzień', step: ['Poprzedni dzień', 'Następny dzień'] },
  { view: 'tydzien', label: 'Tydzień', step: ['Poprzedni tydzień', 'Następny tydzień'] },
  { view: 'miesiac', label: 'Miesiąc', step: ['Poprzedni miesiąc', 'Następny miesiąc'] },
];
type Editing = { appointment: Appointment } | { slot: Slot } | { pay: Appointment } | { note: Appointment } | null;

/** A 7-column week is unreadable on a phone: there the calendar opens on one day. */
const PHONE = '(max-width: 639px)';

const SLOT_MINUTES = 30;
const SLOT_REM = 2.5; // height of one slot in the week view
const DAY_FROM = 7 * 60;
const DAY_TO = 21 * 60;
const WEEKDAY_NAMES = ['Pn', 'Wt', 'Śr', 'Cz', 'Pt', 'So', 'Nd'];

function byDate(appointments: readonly Appointment[]): Map<string, Appointment[]> {
  const days = new Map<string, Appointment[]>();
  for (const a of appointments) days.set(a.date, [...(days.get(a.date) ?? []), a]);
  return days;
}

/**
 * What an appointment button says: "Wizyta 10:00–10:50 Anna Nowak (opłacona)" to a screen reader,
 * built around the visible text so that speech input can name it too. `compact` shows only the
 * start time (and the name from md up), for the month grid. Browsers put a space around each
 * sr-only piece, so the wording is chosen to read well with one.
 */
function AppointmentLabel({ a, patients, compact }: {
  a: Appointment;
  patients: ReadonlyMap<number, Patient>;
  compact?: boolean;
}) {
  const name = patients.get(a.patient_id)?.name ?? `Pacjent #${a.patient_id}`;
  return (
    <>
      <span className="sr-only">Wizyta </span>
      {compact ? (
        <>
          {formatTime(a.start_time)}<span className="sr-only">do {formatTime(a.end_time)}</span>{' '}
          <span className="sr-only md:not-sr-only">{name}</span>
        </>
      ) : (
        <>
          <span className="block font-medium">{formatTime(a.start_time)}–{formatTime(a.end_time)}</span>{' '}
          <span className="block truncate">{name}</span>
        </>
      )}
      {a.is_paid && <span className="sr-only">(opłacona)</span>}
      {a.status !== 'scheduled' && <span className="sr-only">({statusLabel(a)})</span>}
      {' '}
      <span className={compact ? 'sr-only' : 'block tabular-nums'}>{formatMoney(a.price)}</span>
    </>
  );
}

function appointmentColour(a: Appointment): string {
  if (a.status === 'cancelled') return 'bg-slate-50 text-slate-500 border-slate-300 border-dashed line-through';
  return a.is_paid ? 'bg-emerald-100 text-emerald-900 border-emerald-300' : 'bg-indigo-100 text-indigo-900 border-indigo-300';
}

/** Days side by side (a week, or one day), hour by hour, with a button for every free half hour. */
function TimeGrid({ days, appointments, patients, onSlot, onOpen }: {
  days: string[];
  appointments: Map<string, Appointment[]>;
  patients: ReadonlyMap<number, Patient>;
  onSlot: (slot: Slot) => void;
  onOpen: (a: Appointment) => void;
}) {
  // Widen the day when an appointment lies outside the usual hours.
  const all = [...appointments.values()].flat();
  const from = Math.min(DAY_FROM, ...all.map((a) => Math.floor(timeToMinutes(a.start_time) / 60) * 60));
  const to = Math.max(DAY_TO, ...all.map((a) => Math.ceil(timeToMinutes(a.end_time) / 60) * 60));
  const slots = Array.from({ length: (to - from) / SLOT_MINUTES }, (_, i) => from + i * SLOT_MINUTES);
  const current = today();
  const monday = days[0];
  const todayColumn = useRef<HTMLDivElement>(null);
  // On a phone the week scrolls sideways: start with today in sight.
  useEffect(() => {
    todayColumn.current?.scrollIntoView({ inline: 'center', block: 'nearest' });
  }, [monday]);

  const single = days.length === 1;
  return (
    <div className="card relative overflow-x-auto p-0">
      <div className={single ? 'grid grid-cols-[3rem_minmax(0,1fr)]' : 'grid min-w-[40rem] grid-cols-[3rem_repeat(7,minmax(0,1fr))]'}>
        <div className="sticky left-0 z-10 bg-white" />
        {days.map((d) => (
          <div key={d} ref={d === current ? todayColumn : undefined}
            className={`border-b border-l border-slate-200 px-1 py-2 text-center text-sm font-medium ${
            d === current ? 'bg-indigo-50 text-indigo-800' : ''}`}>
            {formatDay(d)}
          </div>
        ))}
        <div aria-hidden="true" className="sticky left-0 z-10 bg-white">
          {slots.map((m) => (
            <div key={m} className="pr-1 text-right text-xs text-slate-500" style={{ height: `${SLOT_REM}rem` }}>
              {m % 60 === 0 ? minutesToTime(m) : ''}
            </div>
          ))}
        </div>
        {days.map((d) => (
          <div key={d} className="relative border-l border-slate-200" role="group" aria-label={formatDateLong(d)}>
            {slots.map((m) => (
              <button key={m} type="button"
                className="block w-full border-b border-slate-100 hover:bg-indigo-50 focus-visible:bg-indigo-50 focus-visible:outline-2 focus-visible:outline-indigo-600"
                style={{ height: `${SLOT_REM}rem` }}
                aria-label={`Nowa wizyta: ${formatDate(d)}, ${minutesToTime(m)}`}
                onClick={() => onSlot({ date: d, start_time: minutesToTime(m) })} />
            ))}
            {(appointments.get(d) ?? []).map((a) => {
              const start = timeToMinutes(a.start_time);
              const end = timeToMinutes(a.end_time);
              return (
                <button key={a.id} type="button"
                  className={`absolute inset-x-0.5 overflow-hidden rounded border px-1 text-left text-xs leading-tight focus-visible:outline-2 focus-visible:outline-indigo-600 ${appointmentColour(a)}`}
                  style={{
                    top: `${((start - from) / SLOT_MINUTES) * SLOT_REM}rem`,
                    height: `${((end - start) / SLOT_MINUTES) * SLOT_REM}rem`,
                  }}
                  onClick={() => onOpen(a)}>
                  <AppointmentLabel a={a} patients={patients} />
                </button>
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}

function MonthView({ anchor, appointments, patients, onDay, onNew, onOpen }: {
  anchor: string;
  appointments: Map<string, Appointment[]>;
  patients: ReadonlyMap<number, Patient>;
  onDay: (day: string) => void;
  onNew: (day: string) => void;
  onOpen: (a: Appointment) => void;
}) {
  const month = anchor.slice(0, 7);
  const current = today();
  return (
    <div className="card p-0">
      <div className="grid grid-cols-7 border-b border-slate-200 text-center text-xs font-medium text-slate-600" aria-hidden="true">
        {WEEKDAY_NAMES.map((n) => <div key={n} className="py-2">{n}</div>)}
      </div>
      <div className="grid grid-cols-7">
        {monthGrid(anchor).flat().map((d) => (
          <div key={d} role="group" aria-label={formatDateLong(d)}
            className={`min-h-20 border-b border-l border-slate-100 p-1 sm:min-h-28 ${d.startsWith(month) ? '' : 'bg-slate-50 text-slate-600'}`}>
            <div className="flex items-center justify-between">
              <button type="button" onClick={() => onDay(d)} aria-label={`${formatDateLong(d)}: pokaż dzień`}
                className={`rounded px-1 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600 ${
                  d === current ? 'bg-indigo-600 text-white' : 'hover:bg-slate-100'}`}>
                {Number(d.slice(8))}
              </button>
              <button type="button" onClick={() => onNew(d)} aria-label={`Nowa wizyta: ${formatDate(d)}`}
                className="rounded px-1 text-slate-500 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-600">
                +
              </button>
            </div>
            <ul className="mt-1 space-y-0.5">
              {(appointments.get(d) ?? []).map((a) => (
                <li key={a.id}>
                  <button type="button" onClick={() => onOpen(a)}
                    className={`w-full truncate rounded border px-0.5 text-left text-[11px] sm:px-1 sm:text-xs focus-visible:outline-2 focus-visible:outline-indigo-600 ${appointmentColour(a)}`}>
                    <AppointmentLabel a={a} patients={patients} compact />
                  </button>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </div>
    </div>
  );
}

export default function CalendarScreen() {
  const [params, setParams] = useSearchParams();
  const asked = params.get('widok');
  const view: View = asked === 'dzien' || asked === 'tydzien' || asked === 'miesiac' ? asked
    : window.matchMedia(PHONE).matches ? 'dzien' : 'tydzien';
  const requested = params.get('data') ?? '';
  const anchor = isIsoDate(requested) ? requested : today();
  const days = view === 'dzien' ? [anchor] : weekDays(anchor);
  const grid = monthGrid(anchor);
  const from = view === 'miesiac' ? grid[0]?.[0] ?? anchor : days[0] ?? anchor;
  const to = view === 'miesiac' ? grid.at(-1)?.[6] ?? anchor : days.at(-1) ?? anchor;

  const patients = usePatients();
  const appointments = useResource(`${from}-${to}`, () => listAppointments({ date_from: from, date_to: to }));
  const [editing, setEditing] = useState<Editing>(null);
  const toast = useToast();
  const byDay = byDate(appointments.data ?? []);
  const dayList = byDay.get(anchor) ?? [];
  const nameOf = (a: Appointment) => patients.byId.get(a.patient_id)?.name ?? `Pacjent #${a.patient_id}`;
  const changed = (message?: string) => {
    setEditing(null);
    appointments.reload();
    if (message) toast.show(message);
  };

  const go = (next: { widok?: View; data?: string }) =>
    setParams({ widok: next.widok ?? view, data: next.data ?? anchor });
  const step = (n: number) => go({
    data: view === 'dzien' ? addDays(anchor, n) : view === 'tydzien' ? addDays(anchor, 7 * n) : addMonths(anchor, n),
  });
  const title = view === 'dzien' ? formatDateLong(anchor)
    : view === 'tydzien' ? `${formatDate(from)} – ${formatDate(to)}` : formatMonth(anchor);
  const labels = VIEWS.find((v) => v.view === view)?.step ?? ['', ''];

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <ScreenTitle title="Kalendarz">Kalendarz wizyt</ScreenTitle>
        <div className="flex gap-1" role="group" aria-label="Widok">
          {VIEWS.map((v) => (
            <button key={v.view} type="button" className={view === v.view ? 'btn-primary' : 'btn-secondary'}
              aria-pressed={view === v.view} onClick={() => go({ widok: v.view })}>{v.label}</button>
          ))}
        </div>
      </div>
      <div className="flex flex-wrap items-center gap-2">
        <button type="button" className="btn-secondary" onClick={() => step(-1)} aria-label={labels[0]}>‹</button>
        <button type="button" className="btn-secondary" onClick={() => go({ data: today() })}>Dziś</button>
        <button type="button" className="btn-secondary" onClick={() => step(1)} aria-label={labels[1]}>›</button>
        <h2 className="text-lg font-medium" aria-live="polite">{title}</h2>
        <button type="button" className="btn-primary ml-auto" onClick={() => setEditing({ slot: { date: anchor, start_time: '09:00' } })}>
          Nowa wizyta
        </button>
      </div>
      <Alert message={appointments.error ?? patients.error} />
      {view === 'dzien' && appointments.data && (
        <p className="text-sm text-slate-600">
          {dayList.length === 0 ? 'Tego dnia nie ma wizyt.'
            : `Wizyty: ${dayList.length} · razem ${formatMoney(sumMoney(dayList.map((a) => a.price)))}`}
        </p>
      )}
      {view === 'miesiac' ? (
        <MonthView anchor={anchor} appointments={byDay} patients={patients.byId}
          onDay={(d) => go({ widok: 'dzien', data: d })}
          onNew={(d) => setEditing({ slot: { date: d, start_time: '09:00' } })}
          onOpen={(appointment) => setEditing({ appointment })} />
      ) : (
        <TimeGrid days={days} appointments={byDay} patients={patients.byId}
          onSlot={(slot) => setEditing({ slot })} onOpen={(appointment) => setEditing({ appointment })} />
      )}
      {editing && ('appointment' in editing || 'slot' in editing) && (
        <AppointmentDialog
          {...editing}
          patients={patients.data ?? []}
          onClose={() => setEditing(null)}
          onChanged={() => changed()}
          onPay={(a) => setEditing({ pay: a })}
          onNote={(a) => setEditing({ note: a })}
        />
      )}
      {editing && 'pay' in editing && (
        <PayAppointmentDialog appointment={editing.pay} patientName={nameOf(editing.pay)}
          onClose={() => setEditing(null)}
          onPaid={(p) => changed(`Zapisano płatność ${formatMoney(p.amount)}.`)} />
      )}
      {editing && 'note' in editing && (
        <AppointmentNoteDialog appointment={editing.note} patientName={nameOf(editing.note)}
          onClose={() => setEditing(null)} onSaved={changed} />
      )}
    </div>
  );
}
