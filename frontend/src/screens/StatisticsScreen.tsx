import { Link, useSearchParams } from 'react-router-dom';
import { appointmentStatistics, paymentStatistics } from '../api/endpoints';
import { useResource } from '../api/useResource';
import { Alert, Loading } from '../components/Alert';
import { TextField } from '../components/Field';
import { Figure } from '../components/Figure';
import { METHOD_LABELS } from '../components/PaymentTable';
import { ScreenTitle } from '../components/ScreenTitle';
import { addMonths, endOfMonth, formatDate, isIsoDate, startOfMonth, today } from '../format/dates';
import { formatMoney } from '../format/money';

export default function StatisticsScreen() {
  const [params, setParams] = useSearchParams();
  const now = today();
  const from = params.get('od') ?? startOfMonth(now);
  const to = params.get('do') ?? endOfMonth(now);
  const valid = isIsoDate(from) && isIsoDate(to) && from <= to;
  const stats = useResource(`stats-${from}-${to}`, () =>
    valid ? paymentStatistics(from, to) : Promise.resolve(undefined));
  const lastMonth = addMonths(now, -1);
  const presets = [
    { label: 'Ten miesiąc', od: startOfMonth(now), do: endOfMonth(now) },
    { label: 'Poprzedni miesiąc', od: startOfMonth(lastMonth), do: endOfMonth(lastMonth) },
    { label: 'Ten rok', od: `${now.slice(0, 4)}-01-01`, do: `${now.slice(0, 4)}-12-31` },
  ];
  const visits = useResource(`visit-stats-${from}-${to}`, () =>
    valid ? appointmentStatistics(from, to) : Promise.resolve(undefined));
  const s = stats.data;
  const w = visits.data;

  return (
    <div className="space-y-4">
      <Link className="link text-sm" to="/platnosci">← Płatności</Link>
      <ScreenTitle title="Statystyki płatności">Statystyki płatności</ScreenTitle>
      <form className="card flex flex-wrap items-end gap-3" aria-label="Okres" onSubmit={(e) => e.preventDefault()}>
        <TextField label="Od dnia" type="date" value={from} onChange={(e) => setParams({ od: e.target.value, do: to })} />
        <TextField label="Do dnia" type="date" value={to} onChange={(e) => setParams({ od: from, do: e.target.value })}
          error={valid ? undefined : 'Podaj poprawny zakres dat.'} />
        <div className="flex flex-wrap gap-2">
          {presets.map((p) => (
            <button key={p.label} type="button" className="btn-secondary" onClick={() => setParams({ od: p.od, do: p.do })}>
              {p.label}
            </button>
          ))}
        </div>
      </form>
      <Alert message={stats.error} />
      {valid && (s ? (
        <section aria-label={`Od ${formatDate(from)} do ${formatDate(to)}`}>
          <dl className="grid gap-4 sm:grid-cols-3">
            <Figure label="Razem" value={formatMoney(s.total_amount)} note={`Płatności: ${s.total_payments}`} />
            <Figure label={METHOD_LABELS.CASH} value={formatMoney(s.cash_amount)} note={`Płatności: ${s.cash_count}`} />
            <Figure label={METHOD_LABELS.TRANSFER} value={formatMoney(s.transfer_amount)} note={`Płatności: ${s.transfer_count}`} />
          </dl>
        </section>
      ) : <Loading />)}
      <h2 className="text-lg font-medium">Wizyty w tym okresie</h2>
      <Alert message={visits.error} />
      {valid && (w ? (
        <section aria-label="Wizyty w tym okresie">
          <dl className="grid gap-4 sm:grid-cols-3">
            <Figure label="Odbyte" value={String(w.completed_count)} note={`Zaplanowane: ${w.scheduled_count}`} />
            <Figure label="Odwołane przez pacjenta" value={String(w.cancelled_late_count + w.cancelled_on_time_count)}
              note={`Późno: ${w.cancelled_late_count}, w terminie: ${w.cancelled_on_time_count}`} />
            <Figure label="Odwołane przeze mnie" value={String(w.cancelled_by_therapist_count)} />
            <Figure label="Nieobecności" value={String(w.no_show_count)} note={`Należne: ${formatMoney(w.no_show_due)}`} />
            <Figure label="Należne za późne odwołania" value={formatMoney(w.late_cancellation_due)} />
            <Figure label="Należne, nieopłacone" value={formatMoney(w.unpaid_due)} note="Odbyte, nieobecności i późne odwołania" />
          </dl>
        </section>
      ) : <Loading />)}
    </div>
  );
}
