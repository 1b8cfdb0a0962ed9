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
import { dayOf, formatDate, formatTime, formatTimestamp } from '../format/dates';
import { formatMoney } from '../format/money';
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

  return (
    <div className="space-y-4">
      <Link className="link text-sm" to="/platnosci">← Płatności</Link>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <ScreenTitle title="Płatność">Płatność z {formatDate(dayOf(p.payment_date))}</ScreenTitle>
        <div className="flex gap-2">
          <button type="button" className="btn-secondary" onClick={() => setEditing(true)}>Edytuj</button>
          <button type="button" className="btn-secondary" onClick={() => setDeleting(true)}>Usuń</button>
        </div>
      </div>
      <dl className="card grid gap-x-6 gap-y-2 sm:grid-cols-[auto_1fr]">
        <dt className="text-sm text-slate-500">Pacjent</dt>
        <dd><Link className="link" to={`/pacjenci/${p.patient_id}`}>{p.patient_name}</Link></dd>
        <dt className="text-sm text-slate-500">Kwota</dt><dd className="tabular-nums font-semibold">{formatMoney(p.amount)}</dd>
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
