// The patient's right of access (GDPR art. 15): everything stored about them, as a JSON file.
import { today } from '../format/dates';
import { exportPatient } from './endpoints';

/** "pacjent-7-2025-11-25.json": the id, not the name, so a downloads folder reveals nobody. */
export function exportFileName(patientId: number, day: string = today()): string {
  return `pacjent-${patientId}-${day}.json`;
}

/** Pretty-printed, so that the patient can read the file in any text editor. */
export function exportFileText(data: unknown): string {
  return `${JSON.stringify(data, null, 2)}\n`;
}

/** Fetches the export (the API audits it) and hands it to the browser as a download; resolves to the file's name. */
export async function downloadPatientExport(patientId: number): Promise<string> {
  const data = await exportPatient(patientId);
  const name = exportFileName(patientId);
  const url = URL.createObjectURL(new Blob([exportFileText(data)], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser reads the blob after click() returns; let it finish before freeing it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}
