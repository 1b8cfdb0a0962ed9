// An amount set against the prices of the visits it pays for: what the payment form says while
// typing and what a payment's page shows. The API decides what it accepts; this only informs.

/** Above this many per cent over the visits' sum, the form asks before saving (a typo like 1500 for 150). */
export const OVERPAYMENT_CONFIRM_PERCENT = 20;

export type AmountCheck =
  | { kind: 'exact' }
  | { kind: 'short'; by: number }
  | { kind: 'over'; by: number; large: boolean };

/** How `amount` compares with `due` (both in złoty), counted in grosze so that 0.1 + 0.2 is 0.3. */
export function compareAmount(amount: number, due: number): AmountCheck {
  const paid = Math.round(amount * 100);
  const owed = Math.round(due * 100);
  if (paid === owed) return { kind: 'exact' };
  if (paid < owed) return { kind: 'short', by: (owed - paid) / 100 };
  return { kind: 'over', by: (paid - owed) / 100, large: (paid - owed) * 100 > owed * OVERPAYMENT_CONFIRM_PERCENT };
}

/** Whether saving `amount` for visits costing `due` should be confirmed first (more than 20 % over). */
export function needsOverpaymentConfirmation(amount: number, due: number): boolean {
  const check = compareAmount(amount, due);
  return check.kind === 'over' && check.large;
}
