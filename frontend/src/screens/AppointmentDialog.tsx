import { useState } from 'react';
import { Link } from 'react-router-dom';
import {
  cancelSeriesFrom, createAppointment, createSeries, deleteAppointment, listPatientNotes, setAppointmentStatus,
  updateAppointment, updateSeriesFrom,
} from '../api/endpoints';
import type { Appointment, Patient } from '../api/types';
import { useResource } from '../api/useResource';
import { Alert } from '../components/Alert';
import { PaidBadge } from '../components/AppointmentList';
import { StatusBadge, statusChoices } from '../components/AppointmentStatus';
import { Dialog } from '../components/Dialog';
import { SelectField, TextField } from '../components/Field';
import { PatientSelect } from '../components/PatientSelect';
import { formatTimestamp, formatTime, minutesToTime, timeToMinutes } from '../format/dates';
import { moneyInput, parseMoney } from '../format/money';
import { useAction } from '../forms/useAction';
import { useForm } from '../forms/useForm';
import { validateAppointment } from '../forms/validation';
import { initialSeries, SeriesFields, seriesInput, useSeriesPreview, type SeriesForm } from './SeriesFields';

// A typical therapy session; the end time can be changed before saving.
const SESSION_MINUTES = 50;
const LAST_PRICE_KEY = 'ta.lastPrice';

// How much of a note the picker shows.
const NOTE_PREVIEW = 60;

export interface Slot { date: string; start_time: string }

/**
 * Books an appointment (or a series of them) in `slot`, or edits, moves, marks or deletes `appointment` (for one of a
 * series: this one, or this and the following ones); either may have one of the patient's notes attached. `onPay`
 * and `onNote` hand an existing unpaid visit to "Opłać" and to its quick note.
 */
export function AppointmentDialog({ appointment, slot, patients, onChanged, onClose, onPay, onNote }: {
  appointment?: Appointment;
  slot?: Slot;
  patients: readonly Patient[];
  onChanged: () => void;
  onClose: () => void;
  onPay?: (a: Appointment) => void;
  onNote?: (a: Appointment) => void;
}) {
  const start = appointment ? formatTime(appointment.start_time) : slot?.start_time ?? '09:00';
  const form = useForm({
    patient_id: appointment ? String(appointment.patient_id) : '',
    date: appointment?.date ?? slot?.date ?? '',
    start_time: start,
    end_time: appointment ? formatTime(appointment.end_time) : minutesToTime(timeToMinutes(start) + SESSION_MINUTES),
    price: appointment ? moneyInput(appointment.price) : localStorage.getItem(LAST_PRICE_KEY) ?? '',
    session_note_id: appointment?.session_note_id ? String(appointment.session_note_id) : '',
  });
  const patientId = Number(form.values.patient_id);
  const notes = useResource(`notes-${patientId}`, () => (patientId ? listPatientNotes(patientId) : Promise.resolve([])));
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const remove = useAction();
  const status = useAction();
  // A new appointment may repeat; a series' appointment may be changed or cancelled with the following ones.
  const [repeating, setRepeating] = useState(false);
  const [series, setSeries] = useState<SeriesForm>(initialSeries);
  const [following, setFollowing] = useState(false);
  const [confirmingCancel, setConfirmingCancel] = useState(false);
  const inSeries = appointment?.series_id != null;
  const v = form.values;
  const price = parseMoney(v.price);
  const base = v.patient_id && v.date && v.start_time && v.end_time && price !== null && price > 0
    ? { patient_id: Number(v.patient_id), start_date: v.date, start_time: v.start_time, end_time: v.end_time, price }
    : null;
  const seriesRequest = repeating ? seriesInput(base, series) : null;
  const { preview, error: previewError } = useSeriesPreview(seriesRequest);

  const submit = form.onSubmit(validateAppointment, async (v) => {
    const input = {
      patient_id: Number(v.patient_id),
      date: v.date,
      start_time: v.start_time,
      end_time: v.end_time,
      price: parseMoney(v.price) ?? 0,
      session_note_id: v.session_note_id ? Number(v.session_note_id) : null,
    };
    if (appointment?.series_id != null && following) {
      await updateSeriesFrom(appointment.series_id, appointment.date,
        { start_time: input.start_time, end_time: input.end_time, price: input.price });
    } else if (appointment) {
      await updateAppointment(appointment.id, input);
    } else if (repeating && seriesRequest) {
      await createSeries(seriesRequest);
    } else {
      await createAppointment(input);
    }
    localStorage.setItem(LAST_PRICE_KEY, v.price);
    onChanged();
  });

  return (
    <Dialog title={appointment ? 'Wizyta' : 'Nowa wizyta'} onClose={onClose}>
      <form noValidate onSubmit={submit} className="space-y-4">
        <Alert message={form.apiMessage ?? remove.error} />
        {appointment && (
          <div className="flex flex-wrap items-center gap-2 text-sm">
            <StatusBadge appointment={appointment} always />
            <PaidBadge paid={appointment.is_paid} />
            {inSeries && <span className="rounded bg-indigo-50 px-2 py-0.5 text-xs font-medium text-indigo-800">w serii</span>}
            <Link className="link" to={`/notatki?pacjent=${appointment.patient_id}`}>Notatki pacjenta</Link>
            <span className="ml-auto flex flex-wrap gap-2">
              {onNote && (
                <button type="button" className="btn-secondary" onClick={() => onNote(appointment)}>
                  {appointment.session_note_id ? 'Notatka z wizyty' : 'Napisz notatkę'}
                </button>
              )}
              {onPay && !appointment.is_paid && (
                <button type="button" className="btn-primary" onClick={() => onPay(appointment)}>Opłać</button>
              )}
            </span>
          </div>
        )}
        {appointment && (
          <div className="space-y-2">
            <Alert message={status.error} />
            <div role="group" aria-label="Status wizyty" className="flex flex-wrap gap-2">
              {statusChoices(appointment).map((c) => (
                <button key={c.label} type="button" className="btn-secondary" disabled={status.busy}
                  onClick={() => status.run(async () => {
                    await setAppointmentStatus(appointment.id, c.status, c.reason);
                    onChanged();
                  })}>
                  {c.label}
                </button>
              ))}
            </div>
          </div>
        )}
        {inSeries && (
          <fieldset className="flex flex-wrap gap-4 text-sm">
            <legend className="mb-1 font-medium text-slate-700">Zmień</legend>
            <label className="flex items-center gap-2">
              <input type="radio" name="scope" checked={!following} onChange={() => setFollowing(false)} />
              tylko tę wizytę
            </label>
            <label className="flex items-center gap-2">
              <input type="radio" name="scope" checked={following} onChange={() => setFollowing(true)} />
              tę i następne
            </label>
          </fieldset>
        )}
        <PatientSelect patients={patients} {...form.field('patient_id')} disabled={following}
          onChange={(e) => { form.set('patient_id', e.target.value); form.set('session_note_id', ''); }} />
        <TextField label="Data" type="date" {...form.field('date')} disabled={following}
          hint={following ? 'Ta i następne wizyty zachowują swoje dni; zmieniają się godziny i cena.' : undefined} />
        <div className="grid grid-cols-2 gap-3">
          <TextField label="Początek" type="time" step={300} {...form.field('start_time')} />
          <TextField label="Koniec" type="time" step={300} {...form.field('end_time')} />
        </div>
        <TextField label="Cena (zł)" inputMode="decimal" autoComplete="off" {...form.field('price')} />
        {!appointment && (
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={repeating} onChange={(e) => setRepeating(e.target.checked)} />
            Powtarzaj (seria wizyt)
          </label>
        )}
        {repeating && (
          <SeriesFields value={series} onChange={setSeries} input={seriesRequest} preview={preview} error={previewError} />
        )}
        {patientId > 0 && (
          <SelectField label="Notatka z sesji" {...form.field('session_note_id')}
            hint={notes.error ?? 'Możesz przypisać do wizyty jedną z notatek tego pacjenta.'}>
            <option value="">Brak notatki</option>
            {(notes.data ?? []).map((n) => (
              <option key={n.id} value={n.id}>
                {formatTimestamp(n.created_at)}: {n.content.length > NOTE_PREVIEW ? `${n.content.slice(0, NOTE_PREVIEW)}…` : n.content}
              </option>
            ))}
          </SelectField>
        )}
        <div className="flex flex-wrap justify-end gap-2">
          {appointment && !confirmingDelete && (
            <button type="button" className="btn-secondary mr-auto" onClick={() => setConfirmingDelete(true)}>
              Usuń wizytę
            </button>
          )}
          <button type="button" className="btn-secondary" onClick={onClose}>Anuluj</button>
          {repeating ? (
            <button type="submit" className="btn-primary"
              disabled={form.busy || !preview || preview.conflicts.length > 0 || preview.dates.length === 0}>
              {preview ? `Zarezerwuj serię (${preview.dates.length})` : 'Zarezerwuj serię'}
            </button>
          ) : (
            <button type="submit" className="btn-primary" disabled={form.busy}>Zapisz</button>
          )}
        </div>
        {appointment?.series_id != null && appointment.status === 'scheduled' && (
          confirmingCancel ? (
            <div className="flex flex-wrap items-center gap-2 rounded-md border border-amber-200 bg-amber-50 p-3 text-sm">
              <span className="mr-auto">Odwołać tę i następne zaplanowane wizyty serii (odwołanie przez Ciebie)?</span>
              <button type="button" className="btn-secondary" onClick={() => setConfirmingCancel(false)}>Nie</button>
              <button type="button" className="btn-danger" disabled={remove.busy}
                onClick={() => remove.run(async () => {
                  await cancelSeriesFrom(appointment.series_id as number, appointment.date);
                  onChanged();
                })}>
                Tak, odwołaj
              </button>
            </div>
          ) : (
            <button type="button" className="btn-secondary" onClick={() => setConfirmingCancel(true)}>
              Odwołaj tę i następne
            </button>
          )
        )}
        {appointment && confirmingDelete && (
          <div className="flex flex-wrap items-center gap-2 rounded-md border border-red-200 bg-red-50 p-3 text-sm">
            <span className="mr-auto">Usunąć tę wizytę?</span>
            <button type="button" className="btn-secondary" onClick={() => setConfirmingDelete(false)}>Nie</button>
            <button type="button" className="btn-danger" disabled={remove.busy} autoFocus
              onClick={() => remove.run(async () => {
                await deleteAppointment(appointment.id);
                onChanged();
              })}>
              Tak, usuń
            </button>
          </div>
        )}
      </form>
    </Dialog>
  );
}
