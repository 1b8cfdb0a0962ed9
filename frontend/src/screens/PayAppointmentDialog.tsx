import { useState } from 'react';
import { createPayment } from '../api/endpoints';
import type { Appointment, Payment, PaymentMethod } from '../api/types';
import { Alert } from '../components/Alert';
import { Dialog } from '../components/Dialog';
import { TextField } from '../components/Field';
import { METHOD_LABELS } from '../components/PaymentTable';
import { formatDate, formatTime, localToIso, nowLocal } from '../format/dates';
import { formatMoney } from '../format/money';
import { useAction } from '../forms/useAction';

const LAST_METHOD_KEY = 'ta.lastPaymentMethod';

/** "Płatność za wizytę 25.11.2025", what a one-visit payment is described as unless changed. */
export function visitPaymentDescription(a: Pick<Appointment, 'date'>): string {
  return `Płatność za wizytę ${formatDate(a.date)}`;
}

/**
 * "Opłać": records a payment of exactly this visit's price, now, by the chosen method. The API
 * decides whether the visit can still be paid and says why not.
 */
export function PayAppointmentDialog({ appointment, patientName, onPaid, onClose }: {
  appointment: Appointment;
  patientName: string;
  onPaid: (payment: Payment) => void;
  onClose: () => void;
}) {
  const [method, setMethod] = useState<PaymentMethod>(
    localStorage.getItem(LAST_METHOD_KEY) === 'TRANSFER' ? 'TRANSFER' : 'CASH');
  const [description, setDescription] = useState(visitPaymentDescription(appointment));
  const { busy, error, run } = useAction();

  const pay = () => run(async () => {
    const payment = await createPayment({
      patient_id: appointment.patient_id,
      amount: appointment.price,
      payment_method: method,
      appointment_ids: [appointment.id],
      payment_date: localToIso(nowLocal()),
      description: description.trim() || null,
    });
    localStorage.setItem(LAST_METHOD_KEY, method);
    onPaid(payment);
  });

  return (
    <Dialog title="Opłać wizytę" onClose={onClose}>
      <form noValidate className="space-y-4" onSubmit={(e) => { e.preventDefault(); if (!busy) void pay(); }}>
        <Alert message={error} />
        <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
          <dt className="text-slate-500">Pacjent</dt><dd className="font-medium">{patientName}</dd>
          <dt className="text-slate-500">Wizyta</dt>
          <dd className="tabular-nums">
            {formatDate(appointment.date)}, {formatTime(appointment.start_time)}–{formatTime(appointment.end_time)}
          </dd>
          <dt className="text-slate-500">Kwota</dt>
          <dd className="text-lg font-semibold tabular-nums">{formatMoney(appointment.price)}</dd>
        </dl>
        <fieldset className="space-y-2">
          <legend className="text-sm font-medium text-slate-700">Forma płatności</legend>
          <div className="grid grid-cols-2 gap-2">
            {(['CASH', 'TRANSFER'] as const).map((m) => (
              <label key={m} className="flex cursor-pointer items-center gap-2 rounded-md border border-slate-300 px-3 py-2 text-sm has-[:checked]:border-indigo-600 has-[:checked]:bg-indigo-50">
                <input type="radio" name="forma" value={m} checked={method === m} onChange={() => setMethod(m)}
                  className="size-4 accent-indigo-600" />
                {METHOD_LABELS[m]}
              </label>
            ))}
          </div>
        </fieldset>
        <TextField label="Opis" autoComplete="off" value={description} onChange={(e) => setDescription(e.target.value)} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn-secondary" onClick={onClose}>Anuluj</button>
          <button type="submit" className="btn-primary" aria-busy={busy}>Potwierdź płatność</button>
        </div>
      </form>
    </Dialog>
  );
}
