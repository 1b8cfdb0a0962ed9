import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { archivePatient, getPatient, listAppointments, listPayments, restorePatient } from '../api/endpoints';
import { usePatients } from '../api/usePatients';
import { downloadPatientExport } from '../api/patientExport';
import { useResource } from '../api/useResource';
import { Alert, Loading, Notice } from '../components/Alert';
import { AppointmentList } from '../components/AppointmentList';
import { ConfirmDialog } from '../components/Dialog';
import { Figure } from '../components/Figure';
import { PaymentTable } from '../components/PaymentTable';
import { ScreenTitle } from '../components/ScreenTitle';
import { useToast } from '../components/Toast';
import { paidTotals, upcomingAndPast } from '../figures/appointments';
import { formatTimestamp, nowLocal } from '../format/dates';
import { formatMoney, sumMoney } from '../format/money';
import { useAction } from '../forms/useAction';
import { AccessHistory } from './AccessHistory';
import { NotesPanel } from './NotesPanel';
import { PatientDialog } from './PatientDialog';
import { PaymentDialog } from './PaymentDialog';

export default function PatientScreen() {
  const id = Number(useParams().id);
  const navigate = useNavigate();
  const patient = useResource(`patient-${id}`, () => getPatient(id));
  const appointments = useResource(`appointments-${id}`, () => listAppointments({ patient_id: id }));
  const payments = useResource(`payments-${id}`, () => listPayments({ patient_id: id, limit: 500 }));
  const [editing, setEditing] = useState(false);
  const [archiving, setArchiving] = useState(false);
  const [paying, setPaying] = useState(false);
  const patients = usePatients();
  const toast = useToast();
  const exporting = useAction();
  const [exported, setExported] = useState<string | null>(null);
  // Exports and edits are audited too: a new count remounts the history at its first page, showing them.
  const [changes, setChanges] = useState(0);

  // Not disabled while busy (that would drop the keyboard focus); a click meanwhile does nothing.
  async function exportData() {
    if (exporting.busy) return;
    setExported(null);
    await exporting.run(async () => {
      setExported(await downloadPatientExport(id));
      setChanges((n) => n + 1);
    });
  }

  if (patient.error) return <Alert message={patient.error} />;
  if (!patient.data) return <Loading />;
  const p = patient.data;
  const totals = paidTotals(appointments.data ?? []);
  const visits = upcomingAndPast(appointments.data ?? [], nowLocal());
  const paymentsSum = sumMoney((payments.data?.payments ?? []).map((x) => x.amount));

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <ScreenTitle title={p.name}>{p.name}</ScreenTitle>
        <div className="flex flex-wrap gap-2">
          <button type="button" className="btn-secondary" onClick={() => setEditing(true)}>Edytuj</button>
          <button type="button" className="btn-secondary" aria-busy={exporting.busy} onClick={exportData}>
            Eksportuj dane pacjenta
          </button>
          <button type="button" className="btn-secondary" onClick={() => setArchiving(true)}>Archiwizuj</button>
        </div>
      </div>
      <Alert message={exporting.error} />
      <Notice message={exported && `Pobrano plik ${exported} ze wszystkimi danymi pacjenta (także archiwalnymi) i historią dostępu.`} />
      <dl className="card grid gap-x-6 gap-y-2 sm:grid-cols-[auto_1fr]">
        <dt className="text-sm text-slate-500">Telefon</dt>
        <dd>{p.phone ? <a className="link" href={`tel:${p.phone.replace(/[^\d+]/g, '')}`}>{p.phone}</a> : '—'}</dd>
        <dt className="text-sm text-slate-500">Email</dt>
        <dd className="break-all">{p.email ? <a className="link" href={`mailto:${p.email}`}>{p.email}</a> : '—'}</dd>
        <dt className="text-sm text-slate-500">Uwagi</dt><dd className="whitespace-pre-wrap">{p.notes ?? '—'}</dd>
        <dt className="text-sm text-slate-500">Data dodania</dt>
        <dd><time dateTime={p.created_at}>{formatTimestamp(p.created_at)}</time></dd>
      </dl>

      <section className="card space-y-2" aria-labelledby="podsumowanie">
        <h2 id="podsumowanie" className="text-lg font-semibold">Podsumowanie</h2>
        {appointments.data && payments.data ? (
          <dl className="grid gap-3 sm:grid-cols-3">
            <Figure className="rounded-md bg-slate-50 p-3" label="Opłacone wizyty" value={totals.paid.count}
              note={`${formatMoney(totals.paid.sum)} · z ${appointments.data.length} wizyt`} />
            <Figure className="rounded-md bg-slate-50 p-3" label="Nieopłacone wizyty" value={totals.unpaid.count}
              note={`${formatMoney(totals.unpaid.sum)} do opłacenia`} />
            <Figure className="rounded-md bg-slate-50 p-3" label="Płatności" value={formatMoney(paymentsSum)} note={`Liczba płatności: ${payments.data.total}`} />
          </dl>
        ) : <Loading />}
      </section>

      <div className="grid gap-6 lg:grid-cols-2">
        <section className="card space-y-2" aria-labelledby="nadchodzace">
          <div className="flex flex-wrap items-center justify-between gap-2">
            <h2 id="nadchodzace" className="text-lg font-semibold">Nadchodzące wizyty</h2>
            <Link className="link text-sm" to="/kalendarz">Umów w kalendarzu</Link>
          </div>
          <Alert message={appointments.error} />
          {appointments.data ? (
            <AppointmentList appointments={visits.upcoming} empty="Brak zaplanowanych wizyt." />
          ) : <Loading />}
        </section>
        <section className="card space-y-2" aria-labelledby="historia-wizyt">
          <div className="flex flex-wrap items-center justify-between gap-2">
            <h2 id="historia-wizyt" className="text-lg font-semibold">Historia wizyt</h2>
            <Link className="link text-sm" to={`/wizyty?okres=wszystkie&pacjent=${id}`}>Wszystkie wizyty pacjenta</Link>
          </div>
          {appointments.data ? (
            <AppointmentList appointments={visits.past} empty="Brak odbytych wizyt." />
          ) : <Loading />}
        </section>
      </div>

      <section className="card space-y-2" aria-labelledby="notatki">
        <h2 id="notatki" className="text-lg font-semibold">Notatki</h2>
        <NotesPanel patientId={id} />
      </section>

      <section className="card space-y-2 p-0 pt-4" aria-labelledby="platnosci">
        <div className="flex flex-wrap items-center justify-between gap-2 px-4">
          <h2 id="platnosci" className="text-lg font-semibold">Płatności</h2>
          <button type="button" className="btn-secondary" onClick={() => setPaying(true)}>Dodaj płatność</button>
        </div>
        <Alert message={payments.error} />
        {payments.data ? <PaymentTable payments={payments.data.payments} showPatient={false} /> : <Loading />}
      </section>

      <AccessHistory key={changes} patientId={id} />

      {editing && (
        <PatientDialog patient={p} onClose={() => setEditing(false)}
          onSaved={() => { setEditing(false); patient.reload(); setChanges((n) => n + 1); }} />
      )}
      {paying && (
        <PaymentDialog patientId={id} patients={patients.data ?? [p]} onClose={() => setPaying(false)}
          onSaved={(saved) => {
            setPaying(false);
            payments.reload();
            appointments.reload();
            setChanges((n) => n + 1);
            toast.show(`Zapisano płatność ${formatMoney(saved.amount)}.`);
          }} />
      )}
      {archiving && (
        <ConfirmDialog
          title="Archiwizuj pacjenta"
          message={`Zarchiwizować pacjenta ${p.name}? Zniknie z list razem ze swoimi wizytami, notatkami i płatnościami. Zaraz potem możesz to cofnąć.`}
          confirmLabel="Archiwizuj"
          onClose={() => setArchiving(false)}
          onConfirm={async () => {
            await archivePatient(id);
            navigate('/pacjenci');
            toast.show(`Zarchiwizowano pacjenta ${p.name}.`, {
              label: 'Cofnij',
              run: () => restorePatient(id),
              done: `Przywrócono pacjenta ${p.name} z wizytami, notatkami i płatnościami.`,
              open: `/pacjenci/${id}`,
            });
          }}
        />
      )}
    </div>
  );
}
