import { useCallback, useState } from 'react';
import { errorText } from '../api/client';

/** Runs one API action at a time and keeps its refusal as a message to show. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  /** Resolves to the failure (or null when it succeeded), so a caller can look closer. */
  const run = useCallback(async (action: () => Promise<void>): Promise<unknown> => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return null;
    } catch (e) {
      setError(errorText(e));
      return e;
    } finally {
      setBusy(false);
    }
  }, []);

  return { busy, error, run };
}
