import { Link } from 'react-router-dom';
import type { PaymentMethod, PaymentWithPatient } from '../api/types';
import { dayOf, formatDate } from '../format/dates';
import { formatMoney } from '../format/money';

export const METHOD_LABELS: Record<PaymentMethod, string> = { CASH: 'Gotówka', TRANSFER: 'Przelew' };

/** Payments as a table; the date opens the payment. A phone sees date, patient and amount. */
export function PaymentTable({ payments, showPatient = true }: {
  payments: readonly PaymentWithPatient[];
  showPatient?: boolean;
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
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {payments.map((p) => (
            <tr key={p.id}>
              <td className="whitespace-nowrap px-4 py-2 tabular-nums">
                <Link className="link" to={`/platnosci/${p.id}`} aria-label={`Płatność z ${formatDate(dayOf(p.payment_date))}: szczegóły`}>
                  {formatDate(dayOf(p.payment_date))}
                </Link>
              </td>
              {showPatient && <td className="px-4 py-2">{p.patient_name}</td>}
              <td className="whitespace-nowrap px-4 py-2 text-right tabular-nums">{formatMoney(p.amount)}</td>
              <td className="hidden px-4 py-2 sm:table-cell">{METHOD_LABELS[p.payment_method]}</td>
              <td className="hidden px-4 py-2 tabular-nums sm:table-cell">{p.appointments.length}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
