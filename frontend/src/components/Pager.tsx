import { useState } from 'react';

/**
 * "Nowsze" and "Starsze" through a newest-first list whose total the API does not tell.
 * `hasMore` is undefined while a page loads: the buttons stay as they were, and stay enabled
 * (aria-disabled, not disabled) so that the keyboard focus is not lost on the way.
 */
export function Pager({ page, hasMore, onPage, label = 'Strony' }: {
  page: number;
  hasMore: boolean | undefined;
  onPage: (page: number) => void;
  label?: string;
}) {
  const [known, setKnown] = useState(false);
  if (hasMore !== undefined && hasMore !== known) setKnown(hasMore);
  const more = hasMore ?? known;
  if (page <= 1 && !more) return null;
  const button = 'btn-secondary aria-disabled:cursor-not-allowed aria-disabled:opacity-60';
  return (
    <nav className="flex flex-wrap items-center justify-between gap-2" aria-label={label}>
      <button type="button" className={button} aria-disabled={page <= 1}
        onClick={() => page > 1 && onPage(page - 1)}>
        ← Nowsze
      </button>
      <span className="text-sm text-slate-600" aria-live="polite">Strona {page}</span>
      <button type="button" className={button} aria-disabled={!more} onClick={() => more && onPage(page + 1)}>
        Starsze →
      </button>
    </nav>
  );
}
