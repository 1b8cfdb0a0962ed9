import { Link } from 'react-router-dom';
import type { PaymentMethod, PaymentWithPatient } from '../api/types';
import { formatDate, formatDateTime, localDay } from '../format/dates';
import { formatMoney } from '../format/money';

export const METHOD_LABELS: Record<PaymentMethod, string> = { CASH: 'Gotówka', TRANSFER: 'Przelew' };

/**
 * Payments as a table; the date opens the payment. A phone sees date, patient and amount (and
 * "Usuń" when `onDelete` is given); method, visits and description appear as the screen widens.
 */
export function PaymentTable({ payments, showPatient = true, onDelete }: {
  payments: readonly PaymentWithPatient[];
  showPatient?: boolean;
  onDelete?: (p: PaymentWithPatient) => void;
}) {
  if (payments.length === 0) return <p className="p-4 text-sm text-slate-500">Brak płatności.</p>;
  return (
    <div className="relative overflow-x-auto">
      <table className="w-full text-left text-sm">
        <thead className="border-b border-slate-200 text-slate-600">
          <tr>
            <th scope="col" className="px-4 py-2 font-medium">Data</th>
            {showPatient && <th scope="col" className="px-4 py-2 font-medium">Pacjent</th>}
            <th scope="col" className="px-4 py-2 text-right font-medium">Kwota</th>
            <th scope="col" className="hidden px-4 py-2 font-medium sm:table-cell">Forma</th>
            <th scope="col" className="hidden px-4 py-2 font-medium sm:table-cell">Wizyty</th>
            <th scope="col" className="hidden px-4 py-2 font-medium md:table-cell">Opis</th>
            {onDelete && <th scope="col" className="px-4 py-2 font-medium"><span className="sr-only">Akcje</span></th>}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {payments.map((p) => {
            const day = formatDate(localDay(p.payment_date));
            return (
              <tr key={p.id}>
                <td className="whitespace-nowrap px-4 py-2 tabular-nums">
                  <Link className="link" to={`/platnosci/${p.id}`}>
                    {formatDateTime(p.payment_date)}<span className="sr-only">: szczegóły płatności</span>
                  </Link>
                </td>
                {showPatient && <td className="px-4 py-2">{p.patient_name}</td>}
                <td className="whitespace-nowrap px-4 py-2 text-right tabular-nums">{formatMoney(p.amount)}</td>
                <td className="hidden px-4 py-2 sm:table-cell">{METHOD_LABELS[p.payment_method]}</td>
                <td className="hidden px-4 py-2 tabular-nums sm:table-cell">{p.appointments.length}</td>
                <td className="hidden max-w-xs truncate px-4 py-2 md:table-cell" title={p.description ?? undefined}>
                  {p.description ?? '—'}
                </td>
                {onDelete && (
                  <td className="px-4 py-1 text-right">
                    <button type="button" className="btn-secondary"
                      aria-label={`Usuń płatność z ${day}, ${formatMoney(p.amount)}, ${p.patient_name}`}
                      onClick={() => onDelete(p)}>
                      Usuń
                    </button>
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
