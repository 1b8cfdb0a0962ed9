import { useId, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { deleteAppointment, listAppointments, MAX_LIMIT } from '../api/endpoints';
import type { Appointment } from '../api/types';
import { usePatients } from '../api/usePatients';
import { useResource } from '../api/useResource';
import { Alert, Loading, Notice } from '../components/Alert';
import { AppointmentList } from '../components/AppointmentList';
import { ConfirmDialog } from '../components/Dialog';
import { Figure } from '../components/Figure';
import { PatientSelect } from '../components/PatientSelect';
import { ScreenTitle } from '../components/ScreenTitle';
import { useToast } from '../components/Toast';
import { byStart, paidTotals, periodCounts, periodRange, periodsSpan, type Period } from '../figures/appointments';
import { formatDate, formatTime, today } from '../format/dates';
import { formatMoney } from '../format/money';
import { AppointmentDialog } from './AppointmentDialog';
import { AppointmentNoteDialog } from './AppointmentNoteDialog';
import { PayAppointmentDialog } from './PayAppointmentDialog';

type Shown = Period | 'wszystkie';
type Status = 'wszystkie' | 'oplacone' | 'nieoplacone';

const PERIODS: readonly { value: Shown; label: string }[] = [
  { value: 'dzis', label: 'Dziś' },
  { value: 'tydzien', label: 'Ten tydzień' },
  { value: 'miesiac', label: 'Ten miesiąc' },
  { value: 'wszystkie', label: 'Wszystkie' },
];
const STATUSES: readonly { value: Status; label: string }[] = [
  { value: 'wszystkie', label: 'Wszystkie' },
  { value: 'oplacone', label: 'Opłacone' },
  { value: 'nieoplacone', label: 'Nieopłacone' },
];

type Acting = { add: true } | { edit: Appointment } | { pay: Appointment } | { note: Appointment } | { remove: Appointment } | null;

/** A row of toggle buttons choosing one value, kept in the URL. */
function Choice<T extends string>({ label, options, value, onChange }: {
  label: string;
  options: readonly { value: T; label: string }[];
  value: T;
  onChange: (value: T) => void;
}) {
  const id = useId();
  return (
    <div className="space-y-1">
      <span className="block text-sm font-medium text-slate-700" id={id}>{label}</span>
      <div className="flex flex-wrap gap-1" role="group" aria-labelledby={id}>
        {options.map((o) => (
          <button key={o.value} type="button" aria-pressed={value === o.value}
            className={value === o.value ? 'btn-primary' : 'btn-secondary'} onClick={() => onChange(o.value)}>
            {o.label}
          </button>
        ))}
      </div>
    </div>
  );
}

/** Every visit by period, payment and patient, with what can be done to each: pay, note, edit, delete. */
export default function AppointmentsScreen() {
  const [params, setParams] = useSearchParams();
  const day = today();
  const period = (PERIODS.find((p) => p.value === params.get('okres'))?.value ?? 'tydzien');
  const status = (STATUSES.find((s) => s.value === params.get('status'))?.value ?? 'wszystkie');
  const patientId = Number(params.get('pacjent')) || undefined;
  const range = period === 'wszystkie' ? {} : (({ from, to }) => ({ date_from: from, date_to: to }))(periodRange(period, day));

  const patients = usePatients();
  const span = periodsSpan(day);
  const counted = useResource(`counts-${span.from}-${span.to}`,
    () => listAppointments({ date_from: span.from, date_to: span.to }));
  const query = { ...range, patient_id: patientId };
  const listed = useResource(`list-${JSON.stringify(query)}`, () => listAppointments(query));
  const [acting, setActing] = useState<Acting>(null);
  const toast = useToast();

  const counts = counted.data ? periodCounts(counted.data, day) : null;
  const all = [...(listed.data ?? [])].sort(byStart);
  const totals = paidTotals(all);
  const shown = all.filter((a) => status === 'wszystkie' || a.is_paid === (status === 'oplacone'));
  const nameOf = (a: Appointment) => patients.byId.get(a.patient_id)?.name ?? `Pacjent #${a.patient_id}`;
  const when = (a: Appointment) => `${formatDate(a.date)}, ${formatTime(a.start_time)}`;

  function setFilter(name: 'okres' | 'status' | 'pacjent', value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next);
  }
  function changed(message?: string) {
    setActing(null);
    listed.reload();
    counted.reload();
    if (message) toast.show(message);
  }

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <ScreenTitle title="Wizyty">Wizyty</ScreenTitle>
        <div className="flex gap-2">
          <Link className="btn-secondary" to="/kalendarz">Kalendarz</Link>
          <button type="button" className="btn-primary" onClick={() => setActing({ add: true })}>Nowa wizyta</button>
        </div>
      </div>
      <Alert message={counted.error ?? patients.error} />
      <section aria-label="Liczby wizyt">
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-5">
          <Figure label="Dziś" value={counts?.dzis ?? 0} />
          <Figure label="Ten tydzień" value={counts?.tydzien ?? 0} />
          <Figure label="Ten miesiąc" value={counts?.miesiac ?? 0} />
          <Figure label="Opłacone" value={totals.paid.count} note={formatMoney(totals.paid.sum)} />
          <Figure label="Nieopłacone" value={totals.unpaid.count} note={formatMoney(totals.unpaid.sum)} />
        </dl>
        <p className="mt-2 text-sm text-slate-600">Opłacone i nieopłacone liczone są w wybranym okresie i dla wybranego pacjenta.</p>
      </section>
      <form className="card flex flex-wrap items-end gap-4" aria-label="Filtry" onSubmit={(e) => e.preventDefault()}>
        <Choice label="Okres" options={PERIODS} value={period} onChange={(v) => setFilter('okres', v)} />
        <Choice label="Płatność" options={STATUSES} value={status} onChange={(v) => setFilter('status', v === 'wszystkie' ? '' : v)} />
        <div className="min-w-56">
          <PatientSelect name="pacjent" patients={patients.data ?? []} emptyLabel="Wszyscy pacjenci"
            value={patientId ? String(patientId) : ''} onChange={(e) => setFilter('pacjent', e.target.value)} />
        </div>
      </form>
      <Alert message={listed.error} />
      {listed.data?.length === MAX_LIMIT && (
        <Notice message={`Pokazano pierwsze ${MAX_LIMIT} wizyt. Wybierz okres albo pacjenta, aby zobaczyć pozostałe.`} />
      )}
      <section className="card space-y-2" aria-labelledby="lista-wizyt" aria-busy={listed.loading}>
        <h2 id="lista-wizyt" className="text-lg font-semibold">Lista wizyt ({shown.length})</h2>
        {!listed.data ? <Loading /> : (
          <AppointmentList appointments={shown} patients={patients.byId}
            empty="Brak wizyt spełniających wybrane kryteria." actions={(a) => (
              <>
                {!a.is_paid && (
                  <button type="button" className="btn-primary" aria-label={`Opłać wizytę ${when(a)}, ${nameOf(a)}`}
                    onClick={() => setActing({ pay: a })}>Opłać</button>
                )}
                <button type="button" className="btn-secondary"
                  aria-label={`${a.session_note_id ? 'Notatka' : 'Dodaj notatkę'}: wizyta ${when(a)}, ${nameOf(a)}`}
                  onClick={() => setActing({ note: a })}>
                  {a.session_note_id ? 'Notatka' : 'Dodaj notatkę'}
                </button>
                <button type="button" className="btn-secondary" aria-label={`Edytuj wizytę ${when(a)}, ${nameOf(a)}`}
                  onClick={() => setActing({ edit: a })}>Edytuj</button>
                <button type="button" className="btn-secondary" aria-label={`Usuń wizytę ${when(a)}, ${nameOf(a)}`}
                  onClick={() => setActing({ remove: a })}>Usuń</button>
              </>
            )} />
        )}
      </section>
      {acting && 'add' in acting && (
        <AppointmentDialog slot={{ date: day, start_time: '09:00' }} patients={patients.data ?? []}
          onClose={() => setActing(null)} onChanged={() => changed()} />
      )}
      {acting && 'edit' in acting && (
        <AppointmentDialog appointment={acting.edit} patients={patients.data ?? []}
          onClose={() => setActing(null)} onChanged={() => changed()}
          onPay={(a) => setActing({ pay: a })} onNote={(a) => setActing({ note: a })} />
      )}
      {acting && 'pay' in acting && (
        <PayAppointmentDialog appointment={acting.pay} patientName={nameOf(acting.pay)}
          onClose={() => setActing(null)} onPaid={(p) => changed(`Zapisano płatność ${formatMoney(p.amount)}.`)} />
      )}
      {acting && 'note' in acting && (
        <AppointmentNoteDialog appointment={acting.note} patientName={nameOf(acting.note)}
          onClose={() => setActing(null)} onSaved={changed} />
      )}
      {acting && 'remove' in acting && (
        <ConfirmDialog
          title="Usuń wizytę"
          message={`Usunąć wizytę ${when(acting.remove)} (${nameOf(acting.remove)})?${
            acting.remove.is_paid ? ' Wizyta jest opłacona: płatność zostanie, ale nie będzie już jej obejmować.' : ''}`}
          confirmLabel="Usuń"
          onClose={() => setActing(null)}
          onConfirm={async () => {
            await deleteAppointment(acting.remove.id);
            changed('Wizyta została usunięta.');
          }}
        />
      )}
    </div>
  );
}
