import { describe, expect, it } from 'vitest';
import { formatMoney, moneyInput, parseMoney, sumMoney } from './money';

// Intl separates thousands and the currency with no-break spaces.
const spaces = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

describe('formatMoney', () => {
  it('writes złoty the Polish way', () => {
    expect(spaces(formatMoney(150))).toBe('150,00 zł');
    expect(spaces(formatMoney(1234.5))).toBe('1234,50 zł');
    expect(spaces(formatMoney(12345.5))).toBe('12 345,50 zł');
    expect(spaces(formatMoney(0))).toBe('0,00 zł');
  });
});

describe('sumMoney', () => {
  it('adds in grosze, without binary fractions', () => {
    expect(sumMoney([0.1, 0.2])).toBe(0.3);
    expect(sumMoney([150, 150.5, 99.99])).toBe(400.49);
    expect(sumMoney([])).toBe(0);
  });
});

describe('parseMoney', () => {
  it('reads what a user types', () => {
    expect(parseMoney('150')).toBe(150);
    expect(parseMoney('150,5')).toBe(150.5);
    expect(parseMoney('150.50')).toBe(150.5);
    expect(parseMoney(' 1 234,50 ')).toBe(1234.5);
  });
  it('refuses what is not an amount', () => {
    for (const bad of ['', 'abc', '1,234', '10,', '-5', '1e3', '12,345', '150 zł', '999999999']) {
      expect(parseMoney(bad), bad).toBeNull();
    }
  });
});

describe('moneyInput', () => {
  it('prefills an input with two decimals and a comma', () => {
    expect(moneyInput(300)).toBe('300,00');
    expect(moneyInput(sumMoney([0.1, 0.2]))).toBe('0,30');
    expect(parseMoney(moneyInput(1234.56))).toBe(1234.56);
  });
});
