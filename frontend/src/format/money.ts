// Money as the API sends it: a JSON number in złoty with at most 2 decimals.

const pln = new Intl.NumberFormat('pl-PL', { style: 'currency', currency: 'PLN' });

export function formatMoney(amount: number): string {
  return pln.format(amount);
}

/** Adds amounts in grosze, so that 0.1 + 0.2 is 0.3 and not 0.30000000000000004. */
export function sumMoney(amounts: readonly number[]): number {
  return amounts.reduce((grosze, a) => grosze + Math.round(a * 100), 0) / 100;
}

/** Reads an amount typed by a user ("150", "150,5", "1 234,50"); null when it is not one. */
export function parseMoney(text: string): number | null {
  const t = text.replace(/[\s\u00a0]/g, '').replace(',', '.');
  if (!/^\d{1,8}(\.\d{1,2})?$/.test(t)) return null;
  return Number(t);
}

/** The amount as a user would type it, for prefilling an input: 150 → "150,00". */
export function moneyInput(amount: number): string {
  return amount.toFixed(2).replace('.', ',');
}
