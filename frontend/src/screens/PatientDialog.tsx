import { createPatient, updatePatient } from '../api/endpoints';
import type { Patient } from '../api/types';
import { Alert } from '../components/Alert';
import { Dialog } from '../components/Dialog';
import { ConsentSwitch } from '../components/ConsentSwitch';
import { TextAreaField, TextField } from '../components/Field';
import { useForm } from '../forms/useForm';
import { validatePatientConsent } from '../forms/validation';

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
    reminder_email: patient?.reminder_email ?? false,
    reminder_sms: patient?.reminder_sms ?? false,
  });

  const submit = form.onSubmit(validatePatientConsent, async (v) => {
    const input = { name: v.name.trim(), phone: orNull(v.phone), email: orNull(v.email), notes: orNull(v.notes),
                    reminder_email: v.reminder_email, reminder_sms: v.reminder_sms };
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
        <fieldset className="space-y-2">
          <legend className="text-sm font-medium text-slate-700">Przypomnienia o wizytach (zgoda pacjenta)</legend>
          <ConsentSwitch label="E-mail" checked={form.values.reminder_email} error={form.errors.reminder_email}
            onChange={(c) => form.set('reminder_email', c)}
            savedValue={patient?.reminder_email} changedAt={patient?.reminder_email_changed_at} />
          <ConsentSwitch label="SMS" checked={form.values.reminder_sms} error={form.errors.reminder_sms}
            onChange={(c) => form.set('reminder_sms', c)}
            savedValue={patient?.reminder_sms} changedAt={patient?.reminder_sms_changed_at} />
        </fieldset>
        <div className="flex justify-end gap-2">
          <button type="button" className="btn-secondary" onClick={onClose}>Anuluj</button>
          <button type="submit" className="btn-primary" disabled={form.busy}>Zapisz</button>
        </div>
      </form>
    </Dialog>
  );
}
