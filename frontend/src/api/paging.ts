// Paging through a list the API does not count (the audit trail): ask for one row more than a
// page shows, and that extra row tells whether an older page exists.

/** The 1-based page number in a URL parameter; anything else is page 1. */
export function parsePage(text: string | null): number {
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 1 ? n : 1;
}

/** skip and limit for `page` (1-based) of `size` rows, with the one look-ahead row. */
export function pageQuery(page: number, size: number): { skip: number; limit: number } {
  return { skip: (page - 1) * size, limit: size + 1 };
}

/** The rows to show of an answer to pageQuery, and whether there are more after them. */
export function pageOf<T>(rows: readonly T[], size: number): { rows: T[]; hasMore: boolean } {
  return { rows: rows.slice(0, size), hasMore: rows.length > size };
}
