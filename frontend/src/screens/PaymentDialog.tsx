import { useState } from 'react';
import { createPayment, getAppointment, unpaidAppointmentIds, updatePayment } from '../api/endpoints';
import type { PaidAppointment, Patient, Payment, PaymentWithPatient } from '../api/types';
import { useResource } from '../api/useResource';
import { Alert, Loading } from '../components/Alert';
import { Dialog } from '../components/Dialog';
import { SelectField, TextAreaField, TextField } from '../components/Field';
import { PatientSelect } from '../components/PatientSelect';
import { METHOD_LABELS } from '../components/PaymentTable';
import { dayOf, formatDate, formatTime, today } from '../format/dates';
import { formatMoney, moneyInput, parseMoney, sumMoney } from '../format/money';
import { useForm } from '../forms/useForm';
import { validatePayment, type PaymentForm } from '../forms/validation';

const byWhen = (a: PaidAppointment, b: PaidAppointment) =>
  a.date.localeCompare(b.date) || a.start_time.localeCompare(b.start_time);

/** The appointments a payment may cover: the patient's unpaid ones plus those it already covers. */
async function payableAppointments(patientId: number, payment?: Payment): Promise<PaidAppointment[]> {
  if (!patientId) return [];
  const unpaid = await Promise.all((await unpaidAppointmentIds(patientId)).map(getAppointment));
  return [...(payment?.appointments ?? []), ...unpaid].sort(byWhen);
}

/**
 * Records a payment by picking the patient's unpaid appointments (the amount follows their sum
 * until the user types one), or edits `payment`.
 */
export function PaymentDialog({ payment, patients, onSaved, onClose }: {
  payment?: PaymentWithPatient;
  patients: readonly Patient[];
  onSaved: (p: Payment) => void;
  onClose: () => void;
}) {
  const [amountTyped, setAmountTyped] = useState(false);
  const form = useForm<PaymentForm>({
    patient_id: payment ? String(payment.patient_id) : '',
    amount: payment ? moneyInput(payment.amount) : '',
    payment_method: payment?.payment_method ?? 'TRANSFER',
    payment_date: payment ? dayOf(payment.payment_date) : today(),
    description: payment?.description ?? '',
    appointment_ids: payment?.appointments.map((a) => a.id) ?? [],
  });
  const patientId: number = Number(form.values.patient_id);
  const choices = useResource(`payable-${patientId}`, () => payableAppointments(patientId, payment));
  const prices: ReadonlyMap<number, number> = new Map((choices.data ?? []).map((a) => [a.id, a.price]));

  function choose(ids: number[]) {
    form.set('appointment_ids', ids);
    if (!amountTyped) form.set('amount', ids.length ? moneyInput(sumMoney(ids.map((id) => prices.get(id) ?? 0))) : '');
  }

  const submit = form.onSubmit((v: PaymentForm) => validatePayment(v, prices), async (v) => {
    const input = {
      amount: parseMoney(v.amount) ?? 0,
      payment_method: v.payment_method === 'CASH' ? 'CASH' as const : 'TRANSFER' as const,
      // payment_date is an instant: an unchanged day keeps the payment's time, today's is now,
      // another day is its midnight (the API reads a date as 00:00 Europe/Warsaw).
      payment_date: payment && v.payment_date === dayOf(payment.payment_date) ? payment.payment_date
        : v.payment_date === today() ? new Date().toISOString() : v.payment_date,
      description: v.description.trim() || null,
      appointment_ids: v.appointment_ids,
    };
    onSaved(payment
      ? await updatePayment(payment.id, input)
      : await createPayment({ ...input, patient_id: Number(v.patient_id) }));
  });

  const selected = form.values.appointment_ids;
  const pickError = form.errors.appointment_ids;
  return (
    <Dialog title={payment ? 'Edytuj płatność' : 'Nowa płatność'} onClose={onClose}>
      <form noValidate onSubmit={submit} className="space-y-4">
        <Alert message={form.apiMessage} />
        <PatientSelect patients={patients} disabled={Boolean(payment)} {...form.field('patient_id')}
          onChange={(e) => {
            form.set('patient_id', e.target.value);
            choose([]);
          }} />
        {patientId > 0 && (
          <fieldset className="space-y-1" aria-describedby={pickError ? 'wizyty-blad' : undefined}>
            <legend className="text-sm font-medium text-slate-700">Wizyty do opłacenia</legend>
            <Alert message={choices.error} />
            {choices.loading && !choices.data ? <Loading /> : choices.data?.length === 0 ? (
              <p className="text-sm text-slate-500">Ten pacjent nie ma nieopłaconych wizyt.</p>
            ) : choices.data?.map((a) => (
              <label key={a.id} className="flex items-center gap-2 rounded px-1 py-1 text-sm hover:bg-slate-50">
                <input type="checkbox" className="size-4 accent-indigo-600" checked={selected.includes(a.id)}
                  aria-invalid={pickError ? true : undefined}
                  onChange={(e) => choose(e.target.checked ? [...selected, a.id] : selected.filter((id) => id !== a.id))} />
                <span className="tabular-nums">{formatDate(a.date)}, {formatTime(a.start_time)}–{formatTime(a.end_time)}</span>
                <span className="ml-auto tabular-nums">{formatMoney(a.price)}</span>
              </label>
            ))}
            {pickError && <p id="wizyty-blad" className="text-sm text-red-700">{pickError}</p>}
          </fieldset>
        )}
        <div className="grid gap-3 sm:grid-cols-2">
          <TextField label="Kwota (zł)" inputMode="decimal" autoComplete="off" {...form.field('amount')}
            onChange={(e) => { setAmountTyped(true); form.set('amount', e.target.value); }} />
          <SelectField label="Forma płatności" {...form.field('payment_method')}>
            <option value="TRANSFER">{METHOD_LABELS.TRANSFER}</option>
            <option value="CASH">{METHOD_LABELS.CASH}</option>
          </SelectField>
        </div>
        <TextField label="Data płatności" type="date" {...form.field('payment_date')} />
        <TextAreaField label="Opis" rows={2} {...form.field('description')} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn-secondary" onClick={onClose}>Anuluj</button>
          <button type="submit" className="btn-primary" disabled={form.busy}>Zapisz płatność</button>
        </div>
      </form>
    </Dialog>
  );
}
