import { useMemo } from 'react';
import { listPatients } from './endpoints';
import type { Patient } from './types';
import { useResource } from './useResource';

/** The practice's patients, and their names by id for screens that show appointments. */
export function usePatients() {
  const resource = useResource('patients', () => listPatients());
  const byId = useMemo(
    () => new Map<number, Patient>((resource.data ?? []).map((p) => [p.id, p])),
    [resource.data],
  );
  return { ...resource, byId };
}
