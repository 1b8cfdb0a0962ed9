import { useState } from 'react';
import { listAudit } from '../api/endpoints';
import { pageOf, pageQuery } from '../api/paging';
import { useResource } from '../api/useResource';
import { Alert, Loading } from '../components/Alert';
import { AuditTable } from '../components/AuditTable';
import { Pager } from '../components/Pager';

const PAGE_SIZE = 20;

/** Who read or changed this patient's data and when, newest first (the audit trail). */
export function AccessHistory({ patientId }: { patientId: number }) {
  const [page, setPage] = useState(1);
  const query = { patient_id: patientId, ...pageQuery(page, PAGE_SIZE) };
  const audit = useResource(`audit-${patientId}-${page}`, () => listAudit(query));
  const shown = audit.data ? pageOf(audit.data, PAGE_SIZE) : null;

  return (
    <section className="card space-y-2 p-0 py-4" aria-labelledby="historia" aria-busy={audit.loading}>
      <div className="space-y-1 px-4">
        <h2 id="historia" className="text-lg font-semibold">Historia dostępu</h2>
        <p className="text-sm text-slate-600">
          Każde wyświetlenie i każda zmiana danych tego pacjenta, od najnowszych. Wpisów nie można zmienić ani usunąć.
        </p>
      </div>
      <div className="px-4"><Alert message={audit.error} /></div>
      {shown ? <AuditTable entries={shown.rows} label="Wpisy historii dostępu" /> : !audit.error && <div className="px-4"><Loading /></div>}
      <div className="px-4">
        <Pager page={page} hasMore={shown?.hasMore} onPage={setPage} label="Strony historii dostępu" />
      </div>
    </section>
  );
}
