import { Link } from 'react-router-dom';
import type { PaymentMethod, PaymentWithPatient } from '../api/types';
import { formatDate } from '../format/dates';
import { formatMoney } from '../format/money';

export const METHOD_LABELS: Record<PaymentMethod, string> = { CASH: 'Gotówka', TRANSFER: 'Przelew' };

/** Payments as a table that scrolls sideways on a phone rather than squeezing. */
export function PaymentTable({ payments, showPatient = true }: {
  payments: readonly PaymentWithPatient[];
  showPatient?: boolean;
}) {
  if (payments.length === 0) return <p className="p-4 text-sm text-slate-500">Brak płatności.</p>;
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-left text-sm">
        <thead className="border-b border-slate-200 text-slate-600">
          <tr>
            <th scope="col" className="px-4 py-2 font-medium">Data</th>
            {showPatient && <th scope="col" className="px-4 py-2 font-medium">Pacjent</th>}
            <th scope="col" className="px-4 py-2 text-right font-medium">Kwota</th>
            <th scope="col" className="px-4 py-2 font-medium">Forma</th>
            <th scope="col" className="px-4 py-2 font-medium">Wizyty</th>
            <th scope="col" className="px-4 py-2"><span className="sr-only">Szczegóły</span></th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {payments.map((p) => (
            <tr key={p.id}>
              <td className="whitespace-nowrap px-4 py-2 tabular-nums">{formatDate(p.payment_date)}</td>
              {showPatient && <td className="px-4 py-2">{p.patient_name}</td>}
              <td className="whitespace-nowrap px-4 py-2 text-right tabular-nums">{formatMoney(p.amount)}</td>
              <td className="px-4 py-2">{METHOD_LABELS[p.payment_method]}</td>
              <td className="px-4 py-2 tabular-nums">{p.appointments.length}</td>
              <td className="px-4 py-2 text-right">
                <Link className="link" to={`/platnosci/${p.id}`} aria-label={`Szczegóły płatności z ${formatDate(p.payment_date)}`}>
                  Szczegóły
                </Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
