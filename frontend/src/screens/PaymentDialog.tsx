import { useState } from 'react';
import { createPayment, getAppointment, unpaidAppointmentIds, updatePayment } from '../api/endpoints';
import type { PaidAppointment, Patient, Payment, PaymentWithPatient } from '../api/types';
import { useResource } from '../api/useResource';
import { Alert, Loading } from '../components/Alert';
import { Dialog } from '../components/Dialog';
import { SelectField, TextAreaField, TextField } from '../components/Field';
import { PatientSelect } from '../components/PatientSelect';
import { METHOD_LABELS } from '../components/PaymentTable';
import { compareAmount, needsOverpaymentConfirmation } from '../figures/payments';
import { formatDate, formatTime, localToIso, nowLocal, toLocalInput } from '../format/dates';
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

/** The amount against the chosen visits' sum, said as the user types. */
function AmountDifference({ amount, due }: { amount: number | null; due: number }) {
  if (amount === null || due === 0) return null;
  const check = compareAmount(amount, due);
  const [text, tone] = check.kind === 'exact' ? ['Kwota pokrywa sumę cen wizyt.', 'text-emerald-700']
    : check.kind === 'short' ? [`Brakuje ${formatMoney(check.by)} do sumy cen wizyt.`, 'text-red-700']
      : [`Nadpłata: ${formatMoney(check.by)}${check.large ? ' (ponad 20% sumy cen wizyt)' : ''}.`,
        check.large ? 'text-amber-800' : 'text-slate-700'];
  return (
    <p className={`text-sm ${tone}`} aria-live="polite">
      Suma cen wizyt: <span className="tabular-nums">{formatMoney(due)}</span>. {text}
    </p>
  );
}

/**
 * Records a payment by picking the patient's unpaid appointments (the amount follows their sum
 * until the user types one), or edits `payment`. `patientId` preselects the patient of a new one.
 */
export function PaymentDialog({ payment, patientId: preselected, patients, onSaved, onClose }: {
  payment?: PaymentWithPatient;
  patientId?: number;
  patients: readonly Patient[];
  onSaved: (p: Payment) => void;
  onClose: () => void;
}) {
  const [amountTyped, setAmountTyped] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const form = useForm<PaymentForm>({
    patient_id: payment ? String(payment.patient_id) : preselected ? String(preselected) : '',
    amount: payment ? moneyInput(payment.amount) : '',
    payment_method: payment?.payment_method ?? 'TRANSFER',
    payment_date: payment ? toLocalInput(payment.payment_date) : nowLocal(),
    description: payment?.description ?? '',
    appointment_ids: payment?.appointments.map((a) => a.id) ?? [],
  });
  const patientId: number = Number(form.values.patient_id);
  const choices = useResource(`payable-${patientId}`, () => payableAppointments(patientId, payment));
  const prices: ReadonlyMap<number, number> = new Map((choices.data ?? []).map((a) => [a.id, a.price]));
  const due = sumMoney(form.values.appointment_ids.map((id) => prices.get(id) ?? 0));
  const amount = parseMoney(form.values.amount);

  function choose(ids: number[]) {
    setConfirming(false);
    form.set('appointment_ids', ids);
    if (!amountTyped) form.set('amount', ids.length ? moneyInput(sumMoney(ids.map((id) => prices.get(id) ?? 0))) : '');
  }

  // Well over the visits' sum is more often a typo than a tip: ask once before saving it.
  const submit = form.onSubmit((v: PaymentForm) => validatePayment(v, prices), async (v) => {
    if (!confirming && needsOverpaymentConfirmation(parseMoney(v.amount) ?? 0, due)) {
      setConfirming(true);
      return;
    }
    setConfirming(false);
    const input = {
      amount: parseMoney(v.amount) ?? 0,
      payment_method: v.payment_method === 'CASH' ? 'CASH' as const : 'TRANSFER' as const,
      payment_date: localToIso(v.payment_date),
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
            onChange={(e) => { setAmountTyped(true); setConfirming(false); form.set('amount', e.target.value); }} />
          <SelectField label="Forma płatności" {...form.field('payment_method')}>
            <option value="TRANSFER">{METHOD_LABELS.TRANSFER}</option>
            <option value="CASH">{METHOD_LABELS.CASH}</option>
          </SelectField>
        </div>
        <AmountDifference amount={amount} due={due} />
        <TextField label="Data i godzina płatności" type="datetime-local" {...form.field('payment_date')} />
        <TextAreaField label="Opis" rows={2} {...form.field('description')} />
        {confirming && amount !== null ? (
          <div role="alertdialog" aria-labelledby="nadplata" className="space-y-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm">
            <p id="nadplata">
              Kwota {formatMoney(amount)} jest o ponad 20% wyższa niż suma cen wybranych wizyt ({formatMoney(due)}).
              Czy na pewno zapisać taką płatność?
            </p>
            <div className="flex flex-wrap justify-end gap-2">
              <button type="button" className="btn-secondary" onClick={(e) => {
                const amountInput = e.currentTarget.form?.querySelector<HTMLInputElement>('[name="amount"]');
                setConfirming(false);
                amountInput?.focus();
              }}>Popraw kwotę</button>
              <button type="submit" className="btn-primary" disabled={form.busy} autoFocus>Tak, zapisz</button>
            </div>
          </div>
        ) : (
          <div className="flex justify-end gap-2">
            <button type="button" className="btn-secondary" onClick={onClose}>Anuluj</button>
            <button type="submit" className="btn-primary" disabled={form.busy}>Zapisz płatność</button>
          </div>
        )}
      </form>
    </Dialog>
  );
}
