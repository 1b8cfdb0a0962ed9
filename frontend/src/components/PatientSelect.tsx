import type { ChangeEvent } from 'react';
import type { Patient } from '../api/types';
import { SelectField } from './Field';

export function PatientSelect({ patients, label = 'Pacjent', emptyLabel = 'Wybierz pacjenta', ...select }: {
  patients: readonly Patient[];
  label?: string;
  emptyLabel?: string;
  name: string;
  value: string;
  error?: string;
  disabled?: boolean;
  onChange: (e: ChangeEvent<HTMLSelectElement>) => void;
}) {
  return (
    <SelectField label={label} {...select}>
      <option value="">{emptyLabel}</option>
      {patients.map((p) => (
        <option key={p.id} value={p.id}>{p.name}</option>
      ))}
    </SelectField>
  );
}
