import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { deletePayment, getPayment } from '../api/endpoints';
import { usePatients } from '../api/usePatients';
import { useResource } from '../api/useResource';
import { Alert, Loading } from '../components/Alert';
import { PaidBadge } from '../components/AppointmentList';
import { ConfirmDialog } from '../components/Dialog';
import { METHOD_LABELS } from '../components/PaymentTable';
import { ScreenTitle } from '../components/ScreenTitle';
import { compareAmount } from '../figures/payments';
import { formatDate, formatDateTime, formatTime, formatTimestamp, localDay } from '../format/dates';
import { formatMoney, sumMoney } from '../format/money';
import { PaymentDialog } from './PaymentDialog';

export default function PaymentScreen() {
  const id = Number(useParams().id);
  const navigate = useNavigate();
  const payment = useResource(`payment-${id}`, () => getPayment(id));
  const patients = usePatients();
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);

  if (payment.error) return <Alert message={payment.error} />;
  if (!payment.data) return <Loading />;
  const p = payment.data;
  const due = sumMoney(p.appointments.map((a) => a.price));
  const check = compareAmount(p.amount, due);

  return (
    <div className="space-y-4">
      <Link className="link text-sm" to="/platnosci">← Płatności</Link>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <ScreenTitle title="Płatność">Płatność z {formatDate(localDay(p.payment_date))}</ScreenTitle>
        <div className="flex gap-2">
          <button type="button" className="btn-secondary" onClick={() => setEditing(true)}>Edytuj</button>
          <button type="button" className="btn-secondary" onClick={() => setDeleting(true)}>Usuń</button>
        </div>
      </div>
      <dl className="card grid gap-x-6 gap-y-2 sm:grid-cols-[auto_1fr]">
        <dt className="text-sm text-slate-500">Pacjent</dt>
        <dd><Link className="link" to={`/pacjenci/${p.patient_id}`}>{p.patient_name}</Link></dd>
        <dt className="text-sm text-slate-500">Telefon</dt>
        <dd>{p.patient_phone ? <a className="link" href={`tel:${p.patient_phone.replace(/[^\d+]/g, '')}`}>{p.patient_phone}</a> : '—'}</dd>
        <dt className="text-sm text-slate-500">Email</dt>
        <dd className="break-all">{p.patient_email ? <a className="link" href={`mailto:${p.patient_email}`}>{p.patient_email}</a> : '—'}</dd>
        <dt className="text-sm text-slate-500">Kwota</dt><dd className="tabular-nums font-semibold">{formatMoney(p.amount)}</dd>
        <dt className="text-sm text-slate-500">Data płatności</dt><dd className="tabular-nums">{formatDateTime(p.payment_date)}</dd>
        <dt className="text-sm text-slate-500">Forma</dt><dd>{METHOD_LABELS[p.payment_method]}</dd>
        <dt className="text-sm text-slate-500">Opis</dt><dd className="whitespace-pre-wrap">{p.description ?? '—'}</dd>
        <dt className="text-sm text-slate-500">Zapisana</dt><dd>{formatTimestamp(p.created_at)}</dd>
        <dt className="text-sm text-slate-500">Zmieniona</dt><dd>{formatTimestamp(p.updated_at)}</dd>
      </dl>
      <section className="card space-y-2" aria-labelledby="oplacone">
        <h2 id="oplacone" className="text-lg font-semibold">Opłacone wizyty</h2>
        <ul className="divide-y divide-slate-100">
          {p.appointments.map((a) => (
            <li key={a.id} className="flex flex-wrap items-center gap-3 py-2 text-sm">
              <span className="tabular-nums">{formatDate(a.date)}, {formatTime(a.start_time)}–{formatTime(a.end_time)}</span>
              <span className="ml-auto tabular-nums">{formatMoney(a.price)}</span>
              <PaidBadge paid={a.is_paid} />
            </li>
          ))}
        </ul>
        <section aria-label="Rozliczenie" className="border-t border-slate-200 pt-2">
          <dl className="grid grid-cols-[1fr_auto] gap-x-4 gap-y-1 text-sm">
            <dt>Suma cen wizyt</dt><dd className="text-right tabular-nums">{formatMoney(due)}</dd>
            <dt>Kwota płatności</dt><dd className="text-right tabular-nums">{formatMoney(p.amount)}</dd>
            {check.kind !== 'exact' && (
              <>
                <dt className="font-medium">{check.kind === 'over' ? 'Nadpłata' : 'Niedopłata'}</dt>
                <dd className="text-right font-medium tabular-nums">{formatMoney(check.by)}</dd>
              </>
            )}
          </dl>
        </section>
      </section>
      {editing && (
        <PaymentDialog payment={p} patients={patients.data ?? []} onClose={() => setEditing(false)}
          onSaved={() => { setEditing(false); payment.reload(); }} />
      )}
      {deleting && (
        <ConfirmDialog
          title="Usuń płatność"
          message={`Usunąć płatność ${formatMoney(p.amount)} od ${p.patient_name}? Jej wizyty znów będą nieopłacone.`}
          confirmLabel="Usuń"
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await deletePayment(id);
            navigate('/platnosci');
          }}
        />
      )}
    </div>
  );
}
