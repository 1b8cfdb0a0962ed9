import { describe, expect, it } from 'vitest';
import { paidTotals, periodCounts, periodRange, periodsSpan, upcomingAndPast } from './appointments';

const visit = (date: string, start_time: string, price = 150, is_paid = false) => ({ date, start_time, price, is_paid });

describe('paid and unpaid totals', () => {
  it('counts and sums each group in grosze', () => {
    const list = [visit('2025-11-24', '10:00', 150.1, true), visit('2025-11-25', '10:00', 0.2, true),
      visit('2025-11-26', '10:00', 200)];
    expect(paidTotals(list)).toEqual({ paid: { count: 2, sum: 150.3 }, unpaid: { count: 1, sum: 200 } });
    expect(paidTotals([])).toEqual({ paid: { count: 0, sum: 0 }, unpaid: { count: 0, sum: 0 } });
  });
});

describe('upcoming and past visits', () => {
  it('splits at the minute, soonest upcoming first and latest past first', () => {
    const list = [visit('2025-11-26', '09:00:00'), visit('2025-11-25', '10:00:00'), visit('2025-11-25', '09:59:00'),
      visit('2025-11-20', '12:00:00'), visit('2025-11-25', '08:00:00')];
    const { upcoming, past } = upcomingAndPast(list, '2025-11-25T10:00');
    expect(upcoming.map((a) => `${a.date} ${a.start_time}`)).toEqual(['2025-11-25 10:00:00', '2025-11-26 09:00:00']);
    expect(past.map((a) => `${a.date} ${a.start_time}`))
      .toEqual(['2025-11-25 09:59:00', '2025-11-25 08:00:00', '2025-11-20 12:00:00']);
  });
});

describe('today, this week, this month', () => {
  it('gives each period its inclusive dates', () => {
    expect(periodRange('dzis', '2025-11-25')).toEqual({ from: '2025-11-25', to: '2025-11-25' });
    expect(periodRange('tydzien', '2025-11-25')).toEqual({ from: '2025-11-24', to: '2025-11-30' });
    expect(periodRange('miesiac', '2025-11-25')).toEqual({ from: '2025-11-01', to: '2025-11-30' });
  });
  it('covers a week that crosses into the next month', () => {
    // Monday 29 December 2025 to Sunday 4 January 2026
    expect(periodsSpan('2025-12-30')).toEqual({ from: '2025-12-01', to: '2026-01-04' });
    expect(periodsSpan('2026-01-02')).toEqual({ from: '2025-12-29', to: '2026-01-31' });
  });
  it('counts the visits of each', () => {
    const list = [visit('2025-12-29', '10:00'), visit('2025-12-30', '10:00'), visit('2025-12-30', '11:00'),
      visit('2026-01-02', '10:00'), visit('2025-12-01', '10:00')];
    expect(periodCounts(list, '2025-12-30')).toEqual({ dzis: 2, tydzien: 4, miesiac: 4 });
  });
});
