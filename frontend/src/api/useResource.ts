import { useCallback, useEffect, useRef, useState } from 'react';
import { errorText } from './client';

export interface Resource<T> {
  /** The last answer for the current key; kept while reloading, dropped when the key changes. */
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

interface Answer<T> {
  key: string;
  version: number;
  data: T | undefined;
  error: string | null;
}

/** Loads `load()` when `key` changes and on reload; a late answer for an old key is dropped. */
export function useResource<T>(key: string, load: () => Promise<T>): Resource<T> {
  const [version, setVersion] = useState(0);
  const [answer, setAnswer] = useState<Answer<T>>({ key: '', version: -1, data: undefined, error: null });
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });

  useEffect(() => {
    let current = true;
    loadRef.current().then(
      (data) => current && setAnswer({ key, version, data, error: null }),
      (e: unknown) => current && setAnswer((a) => ({
        key, version, data: a.key === key ? a.data : undefined, error: errorText(e),
      })),
    );
    return () => {
      current = false;
    };
  }, [key, version]);

  const reload = useCallback(() => setVersion((v) => v + 1), []);
  const sameKey = answer.key === key;
  return {
    data: sameKey ? answer.data : undefined,
    error: sameKey ? answer.error : null,
    loading: !sameKey || answer.version !== version,
    reload,
  };
}
