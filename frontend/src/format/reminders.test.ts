import { describe, expect, it } from 'vitest';
import { renderTemplate, sampleDateTime, unknownPlaceholders } from './reminders';

describe('reminder templates', () => {
  it('fills in the three placeholders, every occurrence', () => {
    expect(renderTemplate('{data} {godzina} {gabinet} {data}', '02.12.2026', '10:00', 'Gabinet Łąka'))
      .toBe('02.12.2026 10:00 Gabinet Łąka 02.12.2026');
  });
  it('names unknown placeholders and stray braces', () => {
    expect(unknownPlaceholders('Wizyta {data} {imie}')).toEqual(['{imie}']);
    expect(unknownPlaceholders('{godzina')).toEqual(['{godzina']);
    expect(unknownPlaceholders('a } b')).toEqual(['}']);
    expect(unknownPlaceholders('{data}, {godzina}, {gabinet}')).toEqual([]);
  });
  it('samples tomorrow at 10:00', () => {
    expect(sampleDateTime(new Date(2026, 11, 31, 15))).toEqual({ date: '01.01.2027', time: '10:00' });
  });
});
