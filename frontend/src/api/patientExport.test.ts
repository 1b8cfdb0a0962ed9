import { describe, expect, it } from 'vitest';
import { today } from '../format/dates';
import { exportFileName, exportFileText } from './patientExport';

describe('the patient export file', () => {
  it('is named by patient id and day, not by name', () => {
    expect(exportFileName(7, '2025-11-25')).toBe('pacjent-7-2025-11-25.json');
    expect(exportFileName(12)).toBe(`pacjent-12-${today()}.json`);
  });
  it('is readable JSON that keeps Polish letters as they are', () => {
    const data = { patient: { id: 7, name: 'Zażółć Gęślą', notes: null }, session_notes: [{ content: 'wywiad' }] };
    const text = exportFileText(data);
    expect(JSON.parse(text)).toEqual(data);
    expect(text).toContain('"name": "Zażółć Gęślą"');
    expect(text.split('\n').length).toBeGreaterThan(5);
  });
});
