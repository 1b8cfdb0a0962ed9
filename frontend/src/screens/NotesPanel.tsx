import { useState } from 'react';
import { createNote, deleteNote, listPatientNotes, updateNote } from '../api/endpoints';
import type { SessionNote } from '../api/types';
import { useResource } from '../api/useResource';
import { Alert, Loading } from '../components/Alert';
import { ConfirmDialog } from '../components/Dialog';
import { TextAreaField } from '../components/Field';
import { formatTimestamp } from '../format/dates';
import { useForm } from '../forms/useForm';
import { validateNote } from '../forms/validation';

/** Writes or edits one note; `note` absent means a new note for the patient. */
function NoteForm({ patientId, note, onSaved, onCancel }: {
  patientId: number;
  note?: SessionNote;
  onSaved: () => void;
  onCancel?: () => void;
}) {
  const form = useForm({ content: note?.content ?? '' });
  const submit = form.onSubmit(validateNote, async (v) => {
    if (note) await updateNote(note.id, v.content);
    else await createNote(patientId, v.content);
    form.setValues({ content: '' });
    onSaved();
  });
  return (
    <form noValidate onSubmit={submit} className="space-y-2">
      <Alert message={form.apiMessage} />
      <TextAreaField label={note ? 'Treść notatki' : 'Nowa notatka'} {...form.field('content')} />
      <div className="flex gap-2">
        <button type="submit" className="btn-primary" disabled={form.busy}>
          {note ? 'Zapisz zmiany' : 'Dodaj notatkę'}
        </button>
        {onCancel && <button type="button" className="btn-secondary" onClick={onCancel}>Anuluj</button>}
      </div>
    </form>
  );
}

/** A patient's session notes, newest first, with writing, editing and deleting. */
export function NotesPanel({ patientId }: { patientId: number }) {
  const notes = useResource(`notes-${patientId}`, () => listPatientNotes(patientId));
  const [editing, setEditing] = useState<number | null>(null);
  const [deleting, setDeleting] = useState<SessionNote | null>(null);

  return (
    <div className="space-y-4">
      <NoteForm key={`new-${patientId}`} patientId={patientId} onSaved={notes.reload} />
      <Alert message={notes.error} />
      {notes.loading && !notes.data ? <Loading /> : notes.data?.length === 0 ? (
        <p className="text-sm text-slate-500">Brak notatek.</p>
      ) : (
        <ol className="space-y-3" aria-label="Notatki, od najnowszej">
          {notes.data?.map((n) => (
            <li key={n.id} className="rounded-md border border-slate-200 p-3">
              {editing === n.id ? (
                <NoteForm patientId={patientId} note={n}
                  onSaved={() => { setEditing(null); notes.reload(); }} onCancel={() => setEditing(null)} />
              ) : (
                <article className="space-y-2">
                  <header className="flex flex-wrap items-center justify-between gap-2">
                    <time dateTime={n.created_at} className="text-sm text-slate-500">{formatTimestamp(n.created_at)}</time>
                    <div className="flex gap-2">
                      <button type="button" className="btn-secondary" onClick={() => setEditing(n.id)}>Edytuj</button>
                      <button type="button" className="btn-secondary" onClick={() => setDeleting(n)}>Usuń</button>
                    </div>
                  </header>
                  <p className="whitespace-pre-wrap break-words">{n.content}</p>
                </article>
              )}
            </li>
          ))}
        </ol>
      )}
      {deleting && (
        <ConfirmDialog
          title="Usuń notatkę"
          message={`Usunąć notatkę z ${formatTimestamp(deleting.created_at)}?`}
          confirmLabel="Usuń"
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await deleteNote(deleting.id);
            setDeleting(null);
            notes.reload();
          }}
        />
      )}
    </div>
  );
}
