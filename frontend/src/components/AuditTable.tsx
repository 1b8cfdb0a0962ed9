import { Link } from 'react-router-dom';
import { tokenUser } from '../api/client';
import type { AuditEntry, Patient } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { describeEntry, userLabel } from '../format/audit';
import { formatTimestamp } from '../format/dates';

// A list read names every patient it returned; a row shows a few and counts the rest.
const SHOWN_PATIENTS = 3;

function PatientLinks({ ids, patients }: { ids: readonly number[]; patients: ReadonlyMap<number, Patient> }) {
  if (ids.length === 0) return <span className="text-slate-500">—</span>;
  const rest = ids.length - SHOWN_PATIENTS;
  return (
    <>
      {ids.slice(0, SHOWN_PATIENTS).map((id, i) => {
        const p = patients.get(id);
        return (
          <span key={id}>
            {i > 0 && ', '}
            {/* Archived patients are not in the list: their number is all there is to show. */}
            {p ? <Link className="link" to={`/pacjenci/${id}`}>{p.name}</Link> : `pacjent nr ${id}`}
          </span>
        );
      })}
      {rest > 0 && <span className="text-slate-600"> i {rest} {rest === 1 ? 'inny' : 'innych'}</span>}
    </>
  );
}

/**
 * Audit entries as a table, newest first. `patients` (names by id) adds a column of the patients
 * each entry touched; a phone sees time, what was done and, when shown, the patients; who, from
 * where and the API route appear as the screen widens.
 */
export function AuditTable({ entries, patients, label }: {
  entries: readonly AuditEntry[];
  patients?: ReadonlyMap<number, Patient>;
  label: string;
}) {
  const { token } = useAuth();
  const me = token ? tokenUser(token) : null;
  if (entries.length === 0) return <p className="p-4 text-sm text-slate-500">Brak wpisów.</p>;
  return (
    // Focusable, so that keyboard users can scroll it sideways where it is wider than the screen.
    <div className="overflow-x-auto" role="region" aria-label={label} tabIndex={0}>
      <table className="w-full text-left text-sm">
        <thead className="border-b border-slate-200 text-slate-600">
          <tr>
            <th scope="col" className="px-4 py-2 font-medium">Kiedy</th>
            <th scope="col" className="px-4 py-2 font-medium">Czynność</th>
            {patients && <th scope="col" className="px-4 py-2 font-medium">Pacjenci</th>}
            <th scope="col" className="hidden px-4 py-2 font-medium sm:table-cell">Kto</th>
            <th scope="col" className="hidden px-4 py-2 font-medium lg:table-cell">Ścieżka API</th>
            <th scope="col" className="hidden px-4 py-2 font-medium md:table-cell">Adres</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {entries.map((e) => (
            <tr key={e.id}>
              <td className="whitespace-nowrap px-4 py-2 align-top tabular-nums">
                <time dateTime={e.at}>{formatTimestamp(e.at)}</time>
              </td>
              <td className="px-4 py-2 align-top">{describeEntry(e)}</td>
              {patients && (
                <td className="px-4 py-2 align-top"><PatientLinks ids={e.patient_ids} patients={patients} /></td>
              )}
              <td className="hidden px-4 py-2 align-top sm:table-cell">{userLabel(e.user_id, me)}</td>
              <td className="hidden px-4 py-2 align-top font-mono text-xs lg:table-cell">{e.route ?? '—'}</td>
              <td className="hidden whitespace-nowrap px-4 py-2 align-top font-mono text-xs md:table-cell">
                {e.client_addr ?? '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
