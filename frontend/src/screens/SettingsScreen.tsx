import { useState } from 'react';
import { API_URL } from '../api/client';
import { createCalendarFeed, deleteCalendarFeed, getCalendarFeed, getSettings, updateSettings } from '../api/endpoints';
import { useResource } from '../api/useResource';
import { Alert, Loading, Notice } from '../components/Alert';
import { TextField } from '../components/Field';
import { ScreenTitle } from '../components/ScreenTitle';
import { useAction } from '../forms/useAction';

/** The feed's address as a phone calendar needs it: absolute, through the same API base as the SPA. */
function absoluteUrl(path: string): string {
  return new URL(`${API_URL}${path}`, window.location.origin).href;
}

function LateCancellation() {
  const settings = useResource('settings', getSettings);
  const [hours, setHours] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const save = useAction();
  const shown = hours ?? (settings.data ? String(settings.data.late_cancel_hours) : '');

  return (
    <section className="card space-y-3" aria-labelledby="odwolania">
      <h2 id="odwolania" className="text-lg font-medium">Późne odwołania</h2>
      <Alert message={settings.error ?? save.error} />
      <Notice message={saved} />
      {settings.data ? (
        <form noValidate className="flex flex-wrap items-end gap-3" onSubmit={(e) => {
          e.preventDefault();
          setSaved(null);
          void save.run(async () => {
            const s = await updateSettings({ late_cancel_hours: /^[0-9]{1,3}$/.test(shown) ? Number(shown) : -1 });
            setHours(String(s.late_cancel_hours));
            setSaved('Zapisano.');
          });
        }}>
          <TextField label="Godzin przed wizytą" inputMode="numeric" value={shown} onChange={(e) => setHours(e.target.value)}
            hint="Odwołanie przez pacjenta później niż tyle godzin przed wizytą (0–168) jest płatne." />
          <button type="submit" className="btn-primary" disabled={save.busy}>Zapisz</button>
        </form>
      ) : !settings.error && <Loading />}
    </section>
  );
}

function CalendarFeed() {
  const feed = useResource('calendar-feed', getCalendarFeed);
  const [url, setUrl] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const action = useAction();
  const enabled = url !== null || feed.data?.enabled === true;

  return (
    <section className="card space-y-3" aria-labelledby="kalendarz-telefon">
      <h2 id="kalendarz-telefon" className="text-lg font-medium">Kalendarz w telefonie</h2>
      <p className="text-sm text-slate-600">
        Prywatny link do subskrypcji w kalendarzu telefonu: pokazuje terminy wizyt i inicjały pacjentów – bez nazwisk,
        kontaktów, notatek i kwot.
      </p>
      <Alert message={feed.error ?? action.error} />
      <Notice message={copied} />
      {url && (
        <div className="flex flex-wrap items-end gap-2">
          <div className="min-w-0 flex-1">
            <TextField label="Link do kalendarza" readOnly value={url} onFocus={(e) => e.target.select()} />
          </div>
          <button type="button" className="btn-secondary" onClick={() => {
            void navigator.clipboard?.writeText(url).then(() => setCopied('Skopiowano link.'),
              () => setCopied('Zaznacz link i skopiuj go ręcznie.'));
          }}>
            Kopiuj link
          </button>
        </div>
      )}
      {!url && enabled && (
        <p className="text-sm">Link jest włączony. Widać go tylko zaraz po utworzeniu: nowy link zastąpi stary.</p>
      )}
      {feed.data || url ? (
        <div className="flex flex-wrap gap-2">
          <button type="button" className="btn-primary" disabled={action.busy} onClick={() => {
            setCopied(null);
            void action.run(async () => setUrl(absoluteUrl((await createCalendarFeed()).url)));
          }}>
            {enabled ? 'Nowy link' : 'Utwórz link'}
          </button>
          {enabled && (
            <button type="button" className="btn-secondary" disabled={action.busy} onClick={() => {
              setCopied(null);
              void action.run(async () => {
                await deleteCalendarFeed();
                setUrl(null);
                feed.reload();
              });
            }}>
              Wyłącz
            </button>
          )}
        </div>
      ) : !feed.error && <Loading />}
    </section>
  );
}

export default function SettingsScreen() {
  return (
    <div className="space-y-4">
      <ScreenTitle title="Ustawienia">Ustawienia</ScreenTitle>
      <LateCancellation />
      <CalendarFeed />
    </div>
  );
}
