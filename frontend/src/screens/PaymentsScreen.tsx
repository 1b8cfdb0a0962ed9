import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { deletePayment, listPayments } from '../api/endpoints';
import type { PaymentWithPatient } from '../api/types';
import { usePatients } from '../api/usePatients';
import { useResource } from '../api/useResource';
import { Alert, Loading, Notice } from '../components/Alert';
import { ConfirmDialog } from '../components/Dialog';
import { SelectField, TextField } from '../components/Field';
import { PatientSelect } from '../components/PatientSelect';
import { METHOD_LABELS, PaymentTable } from '../components/PaymentTable';
import { ScreenTitle } from '../components/ScreenTitle';
import { useToast } from '../components/Toast';
import { formatDate, isIsoDate, localDay } from '../format/dates';
import { formatMoney } from '../format/money';
import { PaymentDialog } from './PaymentDialog';

const PAGE_SIZE = 20;

export default function PaymentsScreen() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const patients = usePatients();
  const [adding, setAdding] = useState(params.get('nowa') === '1');
  const [deleting, setDeleting] = useState<PaymentWithPatient | null>(null);
  const toast = useToast();

  const filter = {
    pacjent: params.get('pacjent') ?? '',
    od: params.get('od') ?? '',
    do: params.get('do') ?? '',
    forma: params.get('forma') ?? '',
  };
  const page = Math.max(1, Number(params.get('strona')) || 1);
  const badRange = isIsoDate(filter.od) && isIsoDate(filter.do) && filter.od > filter.do;
  const query = {
    patient_id: Number(filter.pacjent) || undefined,
    date_from: isIsoDate(filter.od) ? filter.od : undefined,
    date_to: isIsoDate(filter.do) ? filter.do : undefined,
    payment_method: filter.forma || undefined,
    skip: (page - 1) * PAGE_SIZE,
    limit: PAGE_SIZE,
  };
  const payments = useResource(JSON.stringify(query), () => listPayments(query));
  const pages = Math.max(1, Math.ceil((payments.data?.total ?? 0) / PAGE_SIZE));

  /** Changing a filter goes back to the first page. */
  function setFilter(name: keyof typeof filter, value: string) {
    const next = { ...filter, [name]: value };
    setParams(Object.fromEntries(Object.entries(next).filter(([, v]) => v)));
  }
  /** Closing also drops ?nowa=1 (the dashboard's link), so a reload does not reopen the dialog. */
  function closeNew() {
    setAdding(false);
    if (params.has('nowa')) setParams(Object.fromEntries([...params].filter(([k]) => k !== 'nowa')));
  }
  function setPage(n: number) {
    setParams({ ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v)), strona: String(n) });
  }

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <ScreenTitle title="Płatności">Płatności</ScreenTitle>
        <div className="flex gap-2">
          <Link className="btn-secondary" to="/platnosci/statystyki">Statystyki</Link>
          <button type="button" className="btn-primary" onClick={() => setAdding(true)}>Nowa płatność</button>
        </div>
      </div>
      <form className="card grid gap-3 sm:grid-cols-2 lg:grid-cols-4" aria-label="Filtry" onSubmit={(e) => e.preventDefault()}>
        <PatientSelect name="pacjent" patients={patients.data ?? []} emptyLabel="Wszyscy pacjenci"
          value={filter.pacjent} onChange={(e) => setFilter('pacjent', e.target.value)} />
        <TextField label="Od dnia" type="date" value={filter.od} onChange={(e) => setFilter('od', e.target.value)} />
        <TextField label="Do dnia" type="date" value={filter.do} onChange={(e) => setFilter('do', e.target.value)}
          error={badRange ? 'Data końcowa jest przed początkową.' : undefined} />
        <SelectField label="Forma płatności" value={filter.forma} onChange={(e) => setFilter('forma', e.target.value)}>
          <option value="">Wszystkie</option>
          <option value="CASH">{METHOD_LABELS.CASH}</option>
          <option value="TRANSFER">{METHOD_LABELS.TRANSFER}</option>
        </SelectField>
      </form>
      <Alert message={payments.error} />
      {badRange ? <Notice message="Popraw zakres dat, aby zobaczyć płatności." /> : (
        <section className="card p-0" aria-label="Lista płatności" aria-busy={payments.loading}>
          {payments.data ? <PaymentTable payments={payments.data.payments} onDelete={setDeleting} /> : <Loading />}
        </section>
      )}
      {payments.data && !badRange && (
        <nav className="flex flex-wrap items-center justify-between gap-2" aria-label="Strony">
          <button type="button" className="btn-secondary" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            Poprzednia
          </button>
          <span className="text-sm text-slate-600">
            Strona {page} z {pages} · razem {payments.data.total}
          </span>
          <button type="button" className="btn-secondary" disabled={page >= pages} onClick={() => setPage(page + 1)}>
            Następna
          </button>
        </nav>
      )}
      {deleting && (
        <ConfirmDialog
          title="Usuń płatność"
          message={`Usunąć płatność ${formatMoney(deleting.amount)} z ${formatDate(localDay(deleting.payment_date))} od ${
            deleting.patient_name}? Jej wizyty znów będą nieopłacone.`}
          confirmLabel="Usuń"
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            const answer = await deletePayment(deleting.id);
            setDeleting(null);
            payments.reload();
            toast.show(answer.detail);
          }}
        />
      )}
      {adding && (
        <PaymentDialog patients={patients.data ?? []} onClose={closeNew}
          onSaved={(p) => navigate(`/platnosci/${p.id}`)} />
      )}
    </div>
  );
}
