import { useSearchParams } from 'react-router-dom';
import { usePatients } from '../api/usePatients';
import { Alert } from '../components/Alert';
import { PatientSelect } from '../components/PatientSelect';
import { ScreenTitle } from '../components/ScreenTitle';
import { NotesPanel } from './NotesPanel';

export default function NotesScreen() {
  const patients = usePatients();
  const [params, setParams] = useSearchParams();
  const patientId = Number(params.get('pacjent')) || null;

  return (
    <div className="space-y-4">
      <ScreenTitle title="Notatki">Notatki z sesji</ScreenTitle>
      <Alert message={patients.error} />
      <div className="max-w-sm">
        <PatientSelect name="pacjent" patients={patients.data ?? []} value={patientId ? String(patientId) : ''}
          onChange={(e) => setParams(e.target.value ? { pacjent: e.target.value } : {})} />
      </div>
      {patientId ? (
        <section className="card" aria-label={`Notatki: ${patients.byId.get(patientId)?.name ?? ''}`}>
          <NotesPanel patientId={patientId} />
        </section>
      ) : (
        <p className="text-sm text-slate-500">Wybierz pacjenta, aby zobaczyć i pisać notatki.</p>
      )}
    </div>
  );
}
