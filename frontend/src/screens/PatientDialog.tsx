import { createPatient, updatePatient } from '../api/endpoints';
import type { Patient } from '../api/types';
import { Alert } from '../components/Alert';
import { Dialog } from '../components/Dialog';
import { TextAreaField, TextField } from '../components/Field';
import { useForm } from '../forms/useForm';
import { validatePatient } from '../forms/validation';

const orNull = (text: string) => text.trim() || null;

/** Adds a patient, or edits one when `patient` is given. */
export function PatientDialog({ patient, onSaved, onClose }: {
  patient?: Patient;
  onSaved: (p: Patient) => void;
  onClose: () => void;
}) {
  const form = useForm({
    name: patient?.name ?? '',
    phone: patient?.phone ?? '',
    email: patient?.email ?? '',
    notes: patient?.notes ?? '',
  });

  const submit = form.onSubmit(validatePatient, async (v) => {
    const input = { name: v.name.trim(), phone: orNull(v.phone), email: orNull(v.email), notes: orNull(v.notes) };
    onSaved(patient ? await updatePatient(patient.id, input) : await createPatient(input));
  });

  return (
    <Dialog title={patient ? 'Edytuj pacjenta' : 'Nowy pacjent'} onClose={onClose}>
      <form noValidate onSubmit={submit} className="space-y-4">
        <Alert message={form.apiMessage} />
        <TextField label="Imię i nazwisko" autoComplete="off" {...form.field('name')} />
        <TextField label="Telefon" type="tel" autoComplete="off" {...form.field('phone')} />
        <TextField label="Email" type="email" autoComplete="off" {...form.field('email')} />
        <TextAreaField label="Uwagi" rows={3} {...form.field('notes')} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn-secondary" onClick={onClose}>Anuluj</button>
          <button type="submit" className="btn-primary" disabled={form.busy}>Zapisz</button>
        </div>
      </form>
    </Dialog>
  );
}
