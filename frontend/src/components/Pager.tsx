/** "Nowsze" and "Starsze" through a newest-first list whose total the API does not tell. */
export function Pager({ page, hasMore, onPage, label = 'Strony' }: {
  page: number;
  hasMore: boolean;
  onPage: (page: number) => void;
  label?: string;
}) {
  if (page <= 1 && !hasMore) return null;
  return (
    <nav className="flex flex-wrap items-center justify-between gap-2" aria-label={label}>
      <button type="button" className="btn-secondary" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        ← Nowsze
      </button>
      <span className="text-sm text-slate-600">Strona {page}</span>
      <button type="button" className="btn-secondary" disabled={!hasMore} onClick={() => onPage(page + 1)}>
        Starsze →
      </button>
    </nav>
  );
}
