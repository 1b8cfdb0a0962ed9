import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { getReminderSettings, listReminders, sendTestReminder, updateReminderSettings } from '../api/endpoints';
import { pageOf, pageQuery, parsePage } from '../api/paging';
import type { ReminderSettings, ReminderStatus } from '../api/types';
import { useResource } from '../api/useResource';
import { Alert, Loading, Notice } from '../components/Alert';
import { SelectField, TextAreaField, TextField } from '../components/Field';
import { Pager } from '../components/Pager';
import { ScreenTitle } from '../components/ScreenTitle';
import { formatTimestamp } from '../format/dates';
import { renderTemplate, sampleDateTime, unknownPlaceholders } from '../format/reminders';
import { useAction } from '../forms/useAction';
import { useForm } from '../forms/useForm';
import type { Errors } from '../forms/validation';

const PAGE_SIZE = 50;
const STATUS_LABELS: Record<ReminderStatus, string> = {
  pending: 'Oczekuje', sent: 'Wysłane', failed: 'Nieudane', cancelled: 'Anulowane',
};

type SettingsForm = Omit<ReminderSettings, 'email_available' | 'sms_available' | 'sms_max_length' | 'hours_before'> & {
  hours_before: string;
};

function validateSettings(v: SettingsForm, smsMax: number): Errors<SettingsForm> {
  const e: Errors<SettingsForm> = {};
  const hours = Number(v.hours_before);
  if (!Number.isInteger(hours) || hours < 1 || hours > 72) e.hours_before = 'Podaj liczbę godzin od 1 do 72.';
  if (!v.practice_name.trim()) e.practice_name = 'Podaj nazwę gabinetu.';
  for (const key of ['email_subject', 'email_body', 'sms_body'] as const) {
    const unknown = unknownPlaceholders(v[key]);
    if (!v[key].trim()) e[key] = 'Treść nie może być pusta.';
    else if (unknown.length) e[key] = `Nieznany znacznik ${unknown[0]}: dozwolone są {data}, {godzina} i {gabinet}.`;
  }
  const sms = renderTemplate(v.sms_body, '31.12.2026', '23:59', v.practice_name);
  if (!e.sms_body && sms.length > smsMax) e.sms_body = `SMS ma ${sms.length} znaków; najwyżej ${smsMax}.`;
  return e;
}

function SettingsEditor({ settings, onSaved }: { settings: ReminderSettings; onSaved: (s: ReminderSettings) => void }) {
  const form = useForm<SettingsForm>({
    email_enabled: settings.email_enabled, sms_enabled: settings.sms_enabled,
    hours_before: String(settings.hours_before), practice_name: settings.practice_name,
    email_subject: settings.email_subject, email_body: settings.email_body, sms_body: settings.sms_body,
  });
  const [saved, setSaved] = useState<string | null>(null);
  const test = useAction();
  const [testSent, setTestSent] = useState<string | null>(null);
  const v = form.values;
  const { date, time } = sampleDateTime();
  const preview = (t: string) => renderTemplate(t, date, time, v.practice_name);
  const smsLength = renderTemplate(v.sms_body, '31.12.2026', '23:59', v.practice_name).length;

  const submit = form.onSubmit((values) => validateSettings(values, settings.sms_max_length), async (values) => {
    setSaved(null);
    const s = await updateReminderSettings({ ...values, hours_before: Number(values.hours_before) });
    onSaved(s);
    setSaved('Zapisano ustawienia przypomnień.');
  });

  return (
    <form noValidate onSubmit={submit} className="card space-y-4" aria-label="Ustawienia przypomnień">
      <Alert message={form.apiMessage} />
      <Notice message={saved} />
      <fieldset className="space-y-2">
        <legend className="text-sm font-medium text-slate-700">Kanały</legend>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" role="switch" className="h-4 w-4" checked={v.email_enabled}
            onChange={(e) => form.set('email_enabled', e.target.checked)} />
          Przypomnienia e-mail
        </label>
        {v.email_enabled && !settings.email_available && (
          <Notice message="Serwer nie ma skonfigurowanej wysyłki e-mail (SMTP_URL): przypomnienia poczekają, aż zostanie skonfigurowana." />
        )}
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" role="switch" className="h-4 w-4" checked={v.sms_enabled}
            onChange={(e) => form.set('sms_enabled', e.target.checked)} />
          Przypomnienia SMS
        </label>
        {v.sms_enabled && !settings.sms_available && (
          <Notice message="Serwer nie ma skonfigurowanej bramki SMS (SMSAPI_TOKEN): SMS-y poczekają, aż zostanie skonfigurowana." />
        )}
      </fieldset>
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField label="Ile godzin przed wizytą" type="number" min={1} max={72} {...form.field('hours_before')} />
        <TextField label="Nazwa gabinetu ({gabinet})" {...form.field('practice_name')} />
      </div>
      <p className="text-sm text-slate-600">
        Znaczniki: <code>{'{data}'}</code>, <code>{'{godzina}'}</code>, <code>{'{gabinet}'}</code>. Wiadomość zawiera tylko
        datę, godzinę i nazwę gabinetu; nigdy nazwiska, notatek ani cen.
      </p>
      <TextField label="Temat e-maila" {...form.field('email_subject')} />
      <TextAreaField label="Treść e-maila" rows={6} {...form.field('email_body')} />
      <section aria-label="Podgląd e-maila" className="rounded-md border border-slate-200 bg-slate-50 p-3 text-sm">
        <p className="font-medium">Podgląd: {preview(v.email_subject)}</p>
        <p className="whitespace-pre-wrap">{preview(v.email_body)}</p>
      </section>
      <TextAreaField label="Treść SMS-a" rows={3} hint={`${smsLength} / ${settings.sms_max_length} znaków`}
        {...form.field('sms_body')} />
      <section aria-label="Podgląd SMS-a" className="rounded-md border border-slate-200 bg-slate-50 p-3 text-sm">
        <p className="whitespace-pre-wrap">Podgląd: {preview(v.sms_body)}</p>
      </section>
      <div className="flex flex-wrap items-center justify-end gap-2">
        <Alert message={test.error} />
        <Notice message={testSent} />
        <button type="button" className="btn-secondary" disabled={test.busy}
          onClick={() => { setTestSent(null); void test.run(async () => { setTestSent((await sendTestReminder()).detail); }); }}>
          Wyślij test
        </button>
        <button type="submit" className="btn-primary" disabled={form.busy}>Zapisz</button>
      </div>
    </form>
  );
}

/** Reminder settings with a live preview, "Wyślij test", and the outbox with each message's status and error. */
export default function RemindersScreen() {
  const [params, setParams] = useSearchParams();
  const [version, setVersion] = useState(0);
  const settings = useResource(`settings-${version}`, getReminderSettings);
  const status = (params.get('status') ?? '') as ReminderStatus | '';
  const page = parsePage(params.get('strona'));
  const query = { status: status || undefined, ...pageQuery(page, PAGE_SIZE) };
  const outbox = useResource(JSON.stringify(query) + version, () => listReminders(query));
  const shown = outbox.data ? pageOf(outbox.data, PAGE_SIZE) : null;

  return (
    <div className="space-y-4">
      <ScreenTitle title="Przypomnienia">Przypomnienia</ScreenTitle>
      {settings.error ? <Alert message={settings.error} /> : !settings.data ? <Loading /> : (
        <SettingsEditor key={version} settings={settings.data} onSaved={() => setVersion((n) => n + 1)} />
      )}
      <h2 className="text-lg font-semibold">Wysłane i zaplanowane</h2>
      <SelectField label="Status" value={status}
        onChange={(e) => setParams(e.target.value ? { status: e.target.value } : {})}>
        <option value="">Wszystkie</option>
        {Object.entries(STATUS_LABELS).map(([k, label]) => <option key={k} value={k}>{label}</option>)}
      </SelectField>
      {outbox.error ? <Alert message={outbox.error} /> : !shown ? <Loading /> : shown.rows.length === 0 ? (
        <p className="text-slate-600">Brak wiadomości.</p>
      ) : (
        <div className="card overflow-x-auto p-0">
          <table className="w-full text-left text-sm">
            <thead className="bg-slate-50">
              <tr>
                <th className="px-3 py-2">Wizyta</th><th className="px-3 py-2">Kanał</th><th className="px-3 py-2">Status</th>
                <th className="px-3 py-2">Wysyłka</th><th className="px-3 py-2">Próby</th><th className="px-3 py-2">Błąd</th>
              </tr>
            </thead>
            <tbody>
              {shown.rows.map((r) => (
                <tr key={r.id} className="border-t border-slate-100">
                  <td className="px-3 py-2">{r.kind === 'test' ? 'Test' : r.starts_at ? formatTimestamp(r.starts_at) : '—'}</td>
                  <td className="px-3 py-2">{r.channel === 'email' ? 'E-mail' : 'SMS'}</td>
                  <td className="px-3 py-2">{STATUS_LABELS[r.status]}</td>
                  <td className="px-3 py-2">{formatTimestamp(r.sent_at ?? r.send_at)}</td>
                  <td className="px-3 py-2">{r.attempts}</td>
                  <td className="px-3 py-2 text-red-800">{r.last_error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown && <Pager page={page} hasMore={shown.hasMore} onPage={(n) => setParams({ ...(status ? { status } : {}), ...(n > 1 ? { strona: String(n) } : {}) })} />}
    </div>
  );
}
