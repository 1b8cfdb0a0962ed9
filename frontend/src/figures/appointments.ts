// Figures the screens show about appointments, counted from what the API answered. They only
// summarise: whether an appointment is paid is the API's word (`is_paid`), never decided here.
import type { Appointment } from '../api/types';
import { endOfMonth, startOfMonth, startOfWeek, addDays } from '../format/dates';
import { sumMoney } from '../format/money';

type Dated = Pick<Appointment, 'date' | 'start_time'>;
type Priced = Pick<Appointment, 'is_paid' | 'price'>;

export interface CountAndSum { count: number; sum: number }

/** How many appointments are paid and unpaid, and what each group costs. */
export function paidTotals(appointments: readonly Priced[]): { paid: CountAndSum; unpaid: CountAndSum } {
  const group = (paid: boolean): CountAndSum => {
    const prices = appointments.filter((a) => a.is_paid === paid).map((a) => a.price);
    return { count: prices.length, sum: sumMoney(prices) };
  };
  return { paid: group(true), unpaid: group(false) };
}

/** "2025-11-25" and "10:00:00" as one sortable local moment, "2025-11-25T10:00". */
function moment(a: Dated): string {
  return `${a.date}T${a.start_time.slice(0, 5)}`;
}

export function byStart<T extends Dated>(a: T, b: T): number {
  return moment(a).localeCompare(moment(b));
}

/**
 * Appointments still to come (starting at `now` or later, soonest first) and those already
 * started (most recent first). `now` is a local "YYYY-MM-DDTHH:MM".
 */
export function upcomingAndPast<T extends Dated>(appointments: readonly T[], now: string): { upcoming: T[]; past: T[] } {
  const sorted = [...appointments].sort(byStart);
  return {
    upcoming: sorted.filter((a) => moment(a) >= now),
    past: sorted.filter((a) => moment(a) < now).reverse(),
  };
}

export type Period = 'dzis' | 'tydzien' | 'miesiac';

/** The inclusive dates of today, this week (Monday to Sunday) or this month, as seen on `day`. */
export function periodRange(period: Period, day: string): { from: string; to: string } {
  if (period === 'dzis') return { from: day, to: day };
  if (period === 'tydzien') {
    const monday = startOfWeek(day);
    return { from: monday, to: addDays(monday, 6) };
  }
  return { from: startOfMonth(day), to: endOfMonth(day) };
}

/** One range covering today, this week and this month, so one request can count all three. */
export function periodsSpan(day: string): { from: string; to: string } {
  const week = periodRange('tydzien', day);
  const month = periodRange('miesiac', day);
  return { from: week.from < month.from ? week.from : month.from, to: week.to > month.to ? week.to : month.to };
}

/** How many of the appointments fall today, this week and this month. */
export function periodCounts(appointments: readonly Dated[], day: string): Record<Period, number> {
  const count = (period: Period) => {
    const { from, to } = periodRange(period, day);
    return appointments.filter((a) => a.date >= from && a.date <= to).length;
  };
  return { dzis: count('dzis'), tydzien: count('tydzien'), miesiac: count('miesiac') };
}
