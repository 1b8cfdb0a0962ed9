import { useId } from 'react';
import { formatTimestamp } from '../format/dates';

/** A patient's consent to reminders on one channel: the switch, and when it was last given or withdrawn. */
export function ConsentSwitch({ label, checked, onChange, savedValue, changedAt, error }: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  /** The consent as stored, and when it changed (null: never given). */
  savedValue?: boolean;
  changedAt?: string | null;
  error?: string;
}) {
  const id = useId();
  const note = error ? error : changedAt
    ? `${savedValue ? 'Zgoda udzielona' : 'Zgoda wycofana'} ${formatTimestamp(changedAt)}`
    : 'Brak zgody';
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="flex items-center gap-2 text-sm font-medium text-slate-700">
        <input id={id} type="checkbox" role="switch" className="h-4 w-4" checked={checked}
          aria-invalid={error ? true : undefined} aria-describedby={`${id}-note`}
          onChange={(e) => onChange(e.target.checked)} />
        {label}
      </label>
      <p id={`${id}-note`} className={`text-sm ${error ? 'text-red-700' : 'text-slate-500'}`}>{note}</p>
    </div>
  );
}
