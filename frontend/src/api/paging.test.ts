import { describe, expect, it } from 'vitest';
import { pageOf, pageQuery, parsePage } from './paging';

describe('paging without a total', () => {
  it('asks for one row more than a page shows', () => {
    expect(pageQuery(1, 50)).toEqual({ skip: 0, limit: 51 });
    expect(pageQuery(3, 10)).toEqual({ skip: 20, limit: 11 });
  });
  it('shows a full page and knows an older one exists only when the extra row came', () => {
    const rows = Array.from({ length: 11 }, (_, i) => i);
    expect(pageOf(rows, 10)).toEqual({ rows: rows.slice(0, 10), hasMore: true });
    expect(pageOf(rows.slice(0, 10), 10)).toEqual({ rows: rows.slice(0, 10), hasMore: false });
    expect(pageOf([], 10)).toEqual({ rows: [], hasMore: false });
  });
  it('reads the page from the URL, page 1 for anything odd', () => {
    expect(parsePage('4')).toBe(4);
    for (const text of [null, '', '0', '-2', '1.5', 'abc', '1e400']) expect(parsePage(text)).toBe(1);
  });
});
