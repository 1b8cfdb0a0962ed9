import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { archivePatient, getPatient, listAppointments, listPayments } from '../api/endpoints';
import { downloadPatientExport } from '../api/patientExport';
import { useResource } from '../api/useResource';
import { Alert, Loading, Notice } from '../components/Alert';
import { AppointmentList } from '../components/AppointmentList';
import { ConfirmDialog } from '../components/Dialog';
import { PaymentTable } from '../components/PaymentTable';
import { ScreenTitle } from '../components/ScreenTitle';
import { useAction } from '../forms/useAction';
import { AccessHistory } from './AccessHistory';
import { NotesPanel } from './NotesPanel';
import { PatientDialog } from './PatientDialog';

export default function PatientScreen() {
  const id = Number(useParams().id);
  const navigate = useNavigate();
  const patient = useResource(`patient-${id}`, () => getPatient(id));
  const appointments = useResource(`appointments-${id}`, () => listAppointments({ patient_id: id }));
  const payments = useResource(`payments-${id}`, () => listPayments({ patient_id: id, limit: 500 }));
  const [editing, setEditing] = useState(false);
  const [archiving, setArchiving] = useState(false);
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
        <dt className="text-sm text-slate-500">Telefon</dt><dd>{p.phone ?? '—'}</dd>
        <dt className="text-sm text-slate-500">Email</dt><dd className="break-all">{p.email ?? '—'}</dd>
        <dt className="text-sm text-slate-500">Uwagi</dt><dd className="whitespace-pre-wrap">{p.notes ?? '—'}</dd>
      </dl>

      <section className="card space-y-2" aria-labelledby="wizyty">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <h2 id="wizyty" className="text-lg font-semibold">Wizyty</h2>
          <Link className="link text-sm" to="/kalendarz">Umów w kalendarzu</Link>
        </div>
        <Alert message={appointments.error} />
        {appointments.data ? (
          <AppointmentList appointments={[...appointments.data].reverse()} empty="Brak wizyt." />
        ) : <Loading />}
      </section>

      <section className="card space-y-2" aria-labelledby="notatki">
        <h2 id="notatki" className="text-lg font-semibold">Notatki</h2>
        <NotesPanel patientId={id} />
      </section>

      <section className="card space-y-2 p-0 pt-4" aria-labelledby="platnosci">
        <h2 id="platnosci" className="px-4 text-lg font-semibold">Płatności</h2>
        <Alert message={payments.error} />
        {payments.data ? <PaymentTable payments={payments.data.payments} showPatient={false} /> : <Loading />}
      </section>

      <AccessHistory key={changes} patientId={id} />

      {editing && (
        <PatientDialog patient={p} onClose={() => setEditing(false)}
          onSaved={() => { setEditing(false); patient.reload(); setChanges((n) => n + 1); }} />
      )}
      {archiving && (
        <ConfirmDialog
          title="Archiwizuj pacjenta"
          message={`Zarchiwizować pacjenta ${p.name}? Zniknie z listy razem z wizytami i notatkami; płatności zostaną w rozliczeniach.`}
          confirmLabel="Archiwizuj"
          onClose={() => setArchiving(false)}
          onConfirm={async () => {
            await archivePatient(id);
            navigate('/pacjenci');
          }}
        />
      )}
    </div>
  );
}
