import { describe, expect, it } from 'vitest';
import {
  addDays, addMonths, dayOf, endOfMonth, formatDate, formatDateLong, formatDateTime, formatMonth, formatTime, isIsoDate,
  isLocalDateTime, isTime, localDay, localToIso, minutesToTime, monthGrid, nowLocal, parseIsoDate, startOfWeek,
  timeToMinutes, toIsoDate, toLocalInput, weekDays,
} from './dates';

describe('ISO dates', () => {
  it('round-trips local dates', () => {
    expect(toIsoDate(parseIsoDate('2025-01-31'))).toBe('2025-01-31');
    expect(parseIsoDate('2025-03-30').getDate()).toBe(30);
  });
  it('tells real dates from look-alikes', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2025-02-29')).toBe(false);
    expect(isIsoDate('2025-13-01')).toBe(false);
    expect(isIsoDate('25.11.2025')).toBe(false);
    expect(isIsoDate('')).toBe(false);
  });
  it('steps over month, year and daylight-saving boundaries', () => {
    expect(addDays('2025-01-31', 1)).toBe('2025-02-01');
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(addDays('2025-03-29', 2)).toBe('2025-03-31');
    expect(addDays('2025-10-25', 2)).toBe('2025-10-27');
    expect(addMonths('2025-01-31', 1)).toBe('2025-02-01');
    expect(addMonths('2025-01-15', -1)).toBe('2024-12-01');
    expect(endOfMonth('2024-02-10')).toBe('2024-02-29');
  });
});

describe('weeks and months', () => {
  it('starts weeks on Monday', () => {
    expect(startOfWeek('2025-11-25')).toBe('2025-11-24'); // Tuesday
    expect(startOfWeek('2025-11-30')).toBe('2025-11-24'); // Sunday
    expect(startOfWeek('2025-11-24')).toBe('2025-11-24');
    expect(weekDays('2025-01-01')).toEqual([
      '2024-12-30', '2024-12-31', '2025-01-01', '2025-01-02', '2025-01-03', '2025-01-04', '2025-01-05',
    ]);
  });
  it('covers a month with whole weeks', () => {
    expect(monthGrid('2025-11-15')).toHaveLength(5); // 1 Nov 2025 is a Saturday, 30 Nov a Sunday
    const grid = monthGrid('2025-03-15'); // Saturday the 1st to Monday the 31st
    expect(grid).toHaveLength(6);
    expect(grid[0]?.[0]).toBe('2025-02-24');
    expect(grid.at(-1)?.[6]).toBe('2025-04-06');
    expect(monthGrid('2021-02-01')).toHaveLength(4); // February 2021 starts on Monday
  });
});

describe('Polish formatting', () => {
  it('writes dates as pl-PL', () => {
    expect(formatDate('2025-11-05')).toBe('05.11.2025');
    expect(formatDateLong('2025-11-25')).toBe('wtorek, 25 listopada 2025');
    expect(formatMonth('2025-11-25')).toBe('listopad 2025');
  });
  it('writes times without seconds', () => {
    expect(formatTime('14:05:00')).toBe('14:05');
    expect(formatTime('09:30')).toBe('09:30');
  });
});

describe('timestamps', () => {
  it('take the local day of an instant', () => {
    const local = new Date(2026, 11, 1, 0, 30);
    expect(dayOf(local.toISOString())).toBe('2026-12-01');
  });
});

describe('times', () => {
  it('accepts HH:MM and HH:MM:SS only', () => {
    expect(isTime('09:30')).toBe(true);
    expect(isTime('23:59:59')).toBe(true);
    expect(isTime('24:00')).toBe(false);
    expect(isTime('9:30')).toBe(false);
    expect(isTime('')).toBe(false);
  });
  it('converts minutes and stays within the day', () => {
    expect(timeToMinutes('10:30:00')).toBe(630);
    expect(minutesToTime(630 + 50)).toBe('11:20');
    expect(minutesToTime(23 * 60 + 30 + 50)).toBe('23:59');
  });
});

describe('payment timestamps (Europe/Warsaw)', () => {
  it('sends a local date and time with the offset it had that day', () => {
    expect(localToIso('2025-11-25T10:30')).toBe('2025-11-25T10:30:00+01:00');
    expect(localToIso('2025-07-01T00:05')).toBe('2025-07-01T00:05:00+02:00');
    expect(Date.parse(localToIso('2025-11-25T10:30'))).toBe(Date.parse('2025-11-25T09:30:00Z'));
  });
  it("shows the API's timestamp in local time, and a bare date as that day", () => {
    expect(toLocalInput('2026-12-01T07:08:51.958Z')).toBe('2026-12-01T08:08');
    expect(toLocalInput('2026-11-30T23:30:00+00:00')).toBe('2026-12-01T00:30');
    expect(localDay('2026-11-30T23:30:00+00:00')).toBe('2026-12-01');
    expect(toLocalInput('2026-12-01')).toBe('2026-12-01T00:00');
    expect(localDay('2026-12-01')).toBe('2026-12-01');
    expect(formatDateTime('2026-12-01T07:08:51Z')).toBe('01.12.2026, 08:08');
    expect(formatDateTime('2026-12-01')).toBe('01.12.2026');
  });
  it('reads what a datetime-local input holds', () => {
    expect(nowLocal(new Date(2025, 10, 5, 9, 7))).toBe('2025-11-05T09:07');
    expect(isLocalDateTime('2025-11-25T10:30')).toBe(true);
    expect(isLocalDateTime('2025-11-25')).toBe(false);
    expect(isLocalDateTime('2025-02-30T10:30')).toBe(false);
    expect(isLocalDateTime('2025-11-25T24:00')).toBe(false);
  });
});
