import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { usePatients } from '../api/usePatients';
import { Alert, Loading } from '../components/Alert';
import { ScreenTitle } from '../components/ScreenTitle';
import { PatientDialog } from './PatientDialog';

export default function PatientsScreen() {
  const patients = usePatients();
  const [search, setSearch] = useState('');
  const [adding, setAdding] = useState(false);
  const navigate = useNavigate();

  const needle = search.trim().toLowerCase();
  const shown = (patients.data ?? []).filter((p) =>
    !needle || [p.name, p.email, p.phone].some((f) => f?.toLowerCase().includes(needle)));

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <ScreenTitle title="Pacjenci">Pacjenci</ScreenTitle>
        <button type="button" className="btn-primary" onClick={() => setAdding(true)}>Dodaj pacjenta</button>
      </div>
      <div className="max-w-sm">
        <label htmlFor="szukaj" className="block text-sm font-medium text-slate-700">Szukaj</label>
        <input id="szukaj" type="search" className="input" placeholder="Imię, email lub telefon"
          value={search} onChange={(e) => setSearch(e.target.value)} />
      </div>
      <Alert message={patients.error} />
      {patients.loading && !patients.data ? <Loading /> : (
        <div className="card p-0">
          {shown.length === 0 ? (
            <p className="p-4 text-sm text-slate-500">
              {needle ? 'Nikt nie pasuje do wyszukiwania.' : 'Nie masz jeszcze pacjentów.'}
            </p>
          ) : (
            <ul className="divide-y divide-slate-100">
              {shown.map((p) => (
                <li key={p.id} className="flex flex-wrap items-baseline gap-x-4 gap-y-1 px-4 py-3">
                  <Link className="link font-medium" to={`/pacjenci/${p.id}`}>{p.name}</Link>
                  <span className="text-sm text-slate-600">{p.phone}</span>
                  <span className="text-sm text-slate-600 break-all">{p.email}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {adding && (
        <PatientDialog onClose={() => setAdding(false)} onSaved={(p) => navigate(`/pacjenci/${p.id}`)} />
      )}
    </div>
  );
}
