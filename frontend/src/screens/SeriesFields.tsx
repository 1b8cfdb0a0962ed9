import { useEffect, useState } from 'react';
import { errorText } from '../api/client';
import { previewSeries } from '../api/endpoints';
import type { SeriesInput, SeriesPreview } from '../api/types';
import { SelectField, TextField } from '../components/Field';
import { formatDate } from '../format/dates';

export interface SeriesForm { every: string; ends: 'count' | 'until'; count: string; until: string; skip_holidays: boolean }

export const initialSeries: SeriesForm = { every: '1', ends: 'count', count: '10', until: '', skip_holidays: true };

/** The request for a series of the appointment typed in the dialog, or null while it is incomplete. */
export function seriesInput(base: Omit<SeriesInput, 'interval_weeks' | 'skip_holidays' | 'count' | 'until'> | null,
  s: SeriesForm): SeriesInput | null {
  if (!base) return null;
  const input: SeriesInput = { ...base, interval_weeks: Number(s.every), skip_holidays: s.skip_holidays };
  if (s.ends === 'count') {
    if (!/^[0-9]{1,3}$/.test(s.count)) return null;
    input.count = Number(s.count);
  } else {
    if (!s.until) return null;
    input.until = s.until;
  }
  return input;
}

const EVERY = [['1', 'co tydzień'], ['2', 'co 2 tygodnie'], ['3', 'co 3 tygodnie'], ['4', 'co 4 tygodnie']];

/** The database's dry run of the series being typed (300 ms after the last change); nothing while it is incomplete. */
export function useSeriesPreview(input: SeriesInput | null): { preview: SeriesPreview | null; error: string | null } {
  const key = input ? JSON.stringify(input) : '';
  const [answer, setAnswer] = useState<{ key: string; preview?: SeriesPreview; error?: string }>({ key: '' });
  useEffect(() => {
    if (!key) return undefined;
    let current = true;
    const timer = setTimeout(() => {
      previewSeries(JSON.parse(key) as SeriesInput).then(
        (preview) => { if (current) setAnswer({ key, preview }); },
        (e: unknown) => { if (current) setAnswer({ key, error: errorText(e) }); });
    }, 300);
    return () => { current = false; clearTimeout(timer); };
  }, [key]);
  if (!key || answer.key !== key) return { preview: null, error: null };
  return { preview: answer.preview ?? null, error: answer.error ?? null };
}

/**
 * How a series repeats, and the database's preview of it: the dates it books, the holidays it skips and the dates that
 * collide (the same dry run the booking itself runs, so the preview cannot disagree with it).
 */
export function SeriesFields({ value, onChange, input, preview, error }: {
  value: SeriesForm;
  onChange: (v: SeriesForm) => void;
  input: SeriesInput | null;
  preview: SeriesPreview | null;
  error: string | null;
}) {
  const conflicts = new Set(preview?.conflicts ?? []);

  return (
    <fieldset className="space-y-3 rounded-md border border-slate-200 p-3">
      <legend className="px-1 text-sm font-medium text-slate-700">Seria wizyt</legend>
      <SelectField label="Powtarzaj" value={value.every} onChange={(e) => onChange({ ...value, every: e.target.value })}>
        {EVERY.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
      </SelectField>
      <div role="radiogroup" aria-label="Koniec serii" className="flex flex-wrap gap-4 text-sm">
        <label className="flex items-center gap-2">
          <input type="radio" name="ends" checked={value.ends === 'count'} onChange={() => onChange({ ...value, ends: 'count' })} />
          po liczbie wizyt
        </label>
        <label className="flex items-center gap-2">
          <input type="radio" name="ends" checked={value.ends === 'until'} onChange={() => onChange({ ...value, ends: 'until' })} />
          do dnia
        </label>
      </div>
      {value.ends === 'count' ? (
        <TextField label="Liczba wizyt" inputMode="numeric" hint="Od 1 do 52." value={value.count}
          onChange={(e) => onChange({ ...value, count: e.target.value })} />
      ) : (
        <TextField label="Ostatnia wizyta najpóźniej" type="date" hint="Najwyżej rok od pierwszej." value={value.until}
          onChange={(e) => onChange({ ...value, until: e.target.value })} />
      )}
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={value.skip_holidays}
          onChange={(e) => onChange({ ...value, skip_holidays: e.target.checked })} />
        pomiń święta (dni ustawowo wolne)
      </label>
      <section aria-label="Terminy serii" aria-live="polite" className="text-sm">
        {error && <p className="text-red-700">{error}</p>}
        {!input && <p className="text-slate-500">Uzupełnij pacjenta, datę, godziny i cenę, aby zobaczyć terminy.</p>}
        {input && !preview && !error && <p className="text-slate-500">Sprawdzanie terminów…</p>}
        {preview && (
          <>
            <p className="font-medium">
              Terminy: {preview.dates.length}
              {preview.conflicts.length > 0 && `, kolizje: ${preview.conflicts.length}`}
            </p>
            <ul className="mt-1 flex max-h-40 flex-wrap gap-1 overflow-y-auto">
              {preview.dates.map((d) => (
                <li key={d} className={`rounded px-2 py-0.5 tabular-nums ${conflicts.has(d)
                  ? 'bg-red-100 font-medium text-red-900' : 'bg-slate-100 text-slate-800'}`}>
                  {formatDate(d)}{conflicts.has(d) && ' – koliduje'}
                </li>
              ))}
            </ul>
            {preview.skipped_holidays.length > 0 && (
              <p className="mt-1 text-slate-600">
                Pominięte święta: {preview.skipped_holidays.map((h) => `${formatDate(h.date)} (${h.name})`).join(', ')}
              </p>
            )}
          </>
        )}
      </section>
    </fieldset>
  );
}
