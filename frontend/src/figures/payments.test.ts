import { describe, expect, it } from 'vitest';
import { compareAmount, needsOverpaymentConfirmation } from './payments';

describe('an amount against the visits it pays for', () => {
  it('is exact, short or over, in grosze', () => {
    expect(compareAmount(300, 300)).toEqual({ kind: 'exact' });
    expect(compareAmount(0.3, 0.1 + 0.2)).toEqual({ kind: 'exact' });
    expect(compareAmount(250, 300)).toEqual({ kind: 'short', by: 50 });
    expect(compareAmount(300.5, 300.49)).toEqual({ kind: 'over', by: 0.01, large: false });
  });
  it('calls more than 20 % over large, and exactly 20 % not', () => {
    expect(compareAmount(360, 300)).toEqual({ kind: 'over', by: 60, large: false });
    expect(compareAmount(360.01, 300)).toEqual({ kind: 'over', by: 60.01, large: true });
    expect(compareAmount(180, 150)).toMatchObject({ large: false });
    expect(compareAmount(180.01, 150)).toMatchObject({ large: true });
  });
  it('asks for a confirmation only above 20 % over', () => {
    expect(needsOverpaymentConfirmation(1500, 150)).toBe(true);
    expect(needsOverpaymentConfirmation(180, 150)).toBe(false);
    expect(needsOverpaymentConfirmation(150, 150)).toBe(false);
    expect(needsOverpaymentConfirmation(100, 150)).toBe(false);
  });
});
