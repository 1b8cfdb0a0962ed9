import { Link } from 'react-router-dom';
import { listAppointments, paymentStatistics } from '../api/endpoints';
import { usePatients } from '../api/usePatients';
import { useResource } from '../api/useResource';
import { Alert, Loading } from '../components/Alert';
import { AppointmentList } from '../components/AppointmentList';
import { ScreenTitle } from '../components/ScreenTitle';
import { addDays, endOfMonth, formatDateLong, formatMonth, startOfMonth, today } from '../format/dates';
import { formatMoney, sumMoney } from '../format/money';

// How far the dashboard looks ahead for upcoming and back for unpaid appointments.
const UPCOMING_DAYS = 14;
const UNPAID_DAYS = 365;

export default function DashboardScreen() {
  const day = today();
  const patients = usePatients();
  const coming = useResource(`coming-${day}`, () =>
    listAppointments({ date_from: day, date_to: addDays(day, UPCOMING_DAYS) }));
  const past = useResource(`past-${day}`, () =>
    listAppointments({ date_from: addDays(day, -UNPAID_DAYS), date_to: day }));
  const month = useResource(`month-${day}`, () => paymentStatistics(startOfMonth(day), endOfMonth(day)));

  const todays = coming.data?.filter((a) => a.date === day) ?? [];
  const upcoming = coming.data?.filter((a) => a.date > day) ?? [];
  const unpaid = (past.data ?? []).filter((a) => !a.is_paid).reverse();

  return (
    <div className="space-y-6">
      <div>
        <ScreenTitle title="Pulpit">Pulpit</ScreenTitle>
        <p className="text-slate-600">{formatDateLong(day)}</p>
      </div>
      <Alert message={patients.error} />
      <div className="grid gap-4 lg:grid-cols-2">
        <section className="card space-y-2" aria-labelledby="dzisiaj">
          <h2 id="dzisiaj" className="text-lg font-semibold">Dzisiejsze wizyty</h2>
          <Alert message={coming.error} />
          {coming.data ? (
            <AppointmentList appointments={todays} patients={patients.byId} empty="Dziś nie masz wizyt." />
          ) : <Loading />}
        </section>
        <section className="card space-y-2" aria-labelledby="przychod">
          <h2 id="przychod" className="text-lg font-semibold">Przychód: {formatMonth(day)}</h2>
          <Alert message={month.error} />
          {month.data ? (
            <div>
              <p className="text-3xl font-semibold tabular-nums">{formatMoney(month.data.total_amount)}</p>
              <p className="text-sm text-slate-600">Płatności: {month.data.total_payments}</p>
              <Link className="link text-sm" to="/platnosci/statystyki">Statystyki</Link>
            </div>
          ) : <Loading />}
        </section>
        <section className="card space-y-2" aria-labelledby="nadchodzace">
          <h2 id="nadchodzace" className="text-lg font-semibold">Nadchodzące wizyty ({UPCOMING_DAYS} dni)</h2>
          {coming.data ? (
            <AppointmentList appointments={upcoming} patients={patients.byId} empty="Brak zaplanowanych wizyt." />
          ) : <Loading />}
        </section>
        <section className="card space-y-2" aria-labelledby="nieoplacone">
          <h2 id="nieoplacone" className="text-lg font-semibold">Nieopłacone wizyty</h2>
          <Alert message={past.error} />
          {past.data ? (
            <>
              {unpaid.length > 0 && (
                <p className="text-sm text-slate-600">
                  Razem: <strong className="tabular-nums">{formatMoney(sumMoney(unpaid.map((a) => a.price)))}</strong>
                  {' · '}<Link className="link" to="/platnosci?nowa=1">Zapisz płatność</Link>
                </p>
              )}
              <AppointmentList appointments={unpaid} patients={patients.byId} empty="Wszystkie wizyty są opłacone." />
            </>
          ) : <Loading />}
        </section>
      </div>
    </div>
  );
}
