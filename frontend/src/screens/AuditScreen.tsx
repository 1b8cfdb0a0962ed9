import { useSearchParams } from 'react-router-dom';
import { listAudit, verifyAudit } from '../api/endpoints';
import { pageOf, pageQuery, parsePage } from '../api/paging';
import { usePatients } from '../api/usePatients';
import { useResource } from '../api/useResource';
import { Alert, Loading, Notice } from '../components/Alert';
import { AuditTable } from '../components/AuditTable';
import { SelectField, TextField } from '../components/Field';
import { Pager } from '../components/Pager';
import { PatientSelect } from '../components/PatientSelect';
import { ScreenTitle } from '../components/ScreenTitle';
import { ACTION_LABELS } from '../format/audit';
import { isIsoDate } from '../format/dates';
import type { AuditAction } from '../api/types';

const PAGE_SIZE = 50;

/** The practice's audit trail (GDPR art. 30): who read or changed which patient's data, when, from where. */
export default function AuditScreen() {
  const [params, setParams] = useSearchParams();
  const patients = usePatients();

  const filter = {
    od: params.get('od') ?? '',
    do: params.get('do') ?? '',
    pacjent: params.get('pacjent') ?? '',
    czynnosc: params.get('czynnosc') ?? '',
  };
  const page = parsePage(params.get('strona'));
  const badRange = isIsoDate(filter.od) && isIsoDate(filter.do) && filter.od > filter.do;
  const query = {
    date_from: isIsoDate(filter.od) ? filter.od : undefined,
    date_to: isIsoDate(filter.do) ? filter.do : undefined,
    patient_id: Number(filter.pacjent) || undefined,
    action: filter.czynnosc in ACTION_LABELS ? filter.czynnosc as AuditAction : undefined,
    ...pageQuery(page, PAGE_SIZE),
  };
  const audit = useResource(JSON.stringify(query), () => listAudit(query));
  const chain = useResource('verify', verifyAudit);
  const shown = audit.data ? pageOf(audit.data, PAGE_SIZE) : null;

  const filled = (f: typeof filter) => Object.fromEntries(Object.entries(f).filter(([, v]) => v));
  /** Changing a filter goes back to the newest entries. */
  function setFilter(name: keyof typeof filter, value: string) {
    setParams(filled({ ...filter, [name]: value }));
  }
  function setPage(n: number) {
    setParams(n > 1 ? { ...filled(filter), strona: String(n) } : filled(filter));
  }

  return (
    <div className="space-y-4">
      <div className="space-y-1">
        <ScreenTitle title="Dziennik dostępu">Dziennik dostępu</ScreenTitle>
        <p className="text-slate-600">
          Każde wyświetlenie i każda zmiana danych pacjentów, od najnowszych (RODO, art. 30). Wpisów nie można
          zmienić ani usunąć.
        </p>
      </div>
      {chain.data && (chain.data.ok
        ? <Notice message={`Dziennik jest nienaruszony: sprawdzono sumy kontrolne wszystkich wpisów (${chain.data.rows}).`} />
        : <Alert message={`Dziennik został zmieniony poza aplikacją: wpis nr ${chain.data.first_bad_id} i kolejne nie zgadzają się z sumami kontrolnymi. Zgłoś to administratorowi.`} />)}
      <Alert message={chain.error} />
      <form className="card grid gap-3 sm:grid-cols-2 lg:grid-cols-4" aria-label="Filtry" onSubmit={(e) => e.preventDefault()}>
        <TextField label="Od dnia" type="date" value={filter.od} onChange={(e) => setFilter('od', e.target.value)} />
        <TextField label="Do dnia" type="date" value={filter.do} onChange={(e) => setFilter('do', e.target.value)}
          error={badRange ? 'Data końcowa jest przed początkową.' : undefined} />
        <PatientSelect name="pacjent" patients={patients.data ?? []} emptyLabel="Wszyscy pacjenci"
          value={filter.pacjent} onChange={(e) => setFilter('pacjent', e.target.value)} />
        <SelectField label="Czynność" value={filter.czynnosc} onChange={(e) => setFilter('czynnosc', e.target.value)}>
          <option value="">Wszystkie</option>
          {Object.entries(ACTION_LABELS).map(([action, label]) => <option key={action} value={action}>{label}</option>)}
        </SelectField>
      </form>
      <Alert message={audit.error} />
      <Alert message={patients.error} />
      {badRange ? <Notice message="Popraw zakres dat, aby zobaczyć wpisy." /> : (
        <div className="card p-0" aria-busy={audit.loading}>
          {shown ? <AuditTable entries={shown.rows} patients={patients.byId} label="Wpisy dziennika" />
            : !audit.error && <div className="p-4"><Loading /></div>}
        </div>
      )}
      {!badRange && <Pager page={page} hasMore={shown?.hasMore} onPage={setPage} />}
    </div>
  );
}
