import { createNote, getNote, updateAppointment, updateNote } from '../api/endpoints';
import type { Appointment, SessionNote } from '../api/types';
import { useResource } from '../api/useResource';
import { Alert, Loading } from '../components/Alert';
import { Dialog } from '../components/Dialog';
import { TextAreaField } from '../components/Field';
import { formatDate, formatTime } from '../format/dates';
import { useForm } from '../forms/useForm';
import { validateNote } from '../forms/validation';

function NoteForm({ appointment, note, onSaved, onClose }: {
  appointment: Appointment;
  note: SessionNote | null;
  onSaved: (message: string) => void;
  onClose: () => void;
}) {
  const form = useForm({ content: note?.content ?? '' });
  const submit = form.onSubmit(validateNote, async (v) => {
    if (note) {
      await updateNote(note.id, v.content);
      onSaved('Zapisano zmiany w notatce.');
      return;
    }
    const created = await createNote(appointment.patient_id, v.content);
    await updateAppointment(appointment.id, { session_note_id: created.id });
    onSaved('Notatka została zapisana i przypisana do wizyty.');
  });
  return (
    <form noValidate onSubmit={submit} className="space-y-4">
      <Alert message={form.apiMessage} />
      <TextAreaField label="Treść notatki" rows={10} autoFocus {...form.field('content')}
        hint={note ? 'Zmieniasz notatkę przypisaną do tej wizyty.' : 'Notatka zostanie przypisana do tej wizyty.'} />
      <div className="flex justify-end gap-2">
        <button type="button" className="btn-secondary" onClick={onClose}>Anuluj</button>
        <button type="submit" className="btn-primary" disabled={form.busy}>Zapisz notatkę</button>
      </div>
    </form>
  );
}

/**
 * The quick session note of one visit: a new note written here is linked to the visit through
 * `session_note_id`; a visit that has one opens it for editing.
 */
export function AppointmentNoteDialog({ appointment, patientName, onSaved, onClose }: {
  appointment: Appointment;
  patientName: string;
  onSaved: (message: string) => void;
  onClose: () => void;
}) {
  const noteId = appointment.session_note_id;
  const note = useResource(`note-${noteId ?? 'new'}`, () => (noteId ? getNote(noteId) : Promise.resolve(null)));
  return (
    <Dialog title={noteId ? 'Notatka z wizyty' : 'Nowa notatka z wizyty'} onClose={onClose}>
      <div className="space-y-4">
        <p className="rounded-md border border-indigo-200 bg-indigo-50 px-3 py-2 text-sm text-indigo-900">
          {patientName} · {formatDate(appointment.date)}, {formatTime(appointment.start_time)}–{formatTime(appointment.end_time)}
        </p>
        <Alert message={note.error} />
        {note.data === undefined ? (note.error ? null : <Loading />) : (
          <NoteForm appointment={appointment} note={note.data} onSaved={onSaved} onClose={onClose} />
        )}
      </div>
    </Dialog>
  );
}
