import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useNavigate } from 'react-router-dom';
import { errorText } from '../api/client';

/** A button in a toast, e.g. "Cofnij". */
export interface ToastAction {
  label: string;
  run: () => Promise<unknown>;
  /** What the toast says once `run` succeeded. */
  done: string;
  /** The screen to open once `run` succeeded. */
  open?: string;
}

interface Toast {
  id: number;
  message: string;
  error?: boolean;
  action?: ToastAction;
}

interface Toasts {
  show: (message: string, action?: ToastAction) => void;
}

const ToastContext = createContext<Toasts | null>(null);
let lastId = 0;

// A plain message goes after a while; one with an action, or a refusal, stays until it is used or
// closed, so nobody has to race a timer to undo or to read why it failed (WCAG 2.2.1).
const PLAIN_TOAST_MS = 8000;

/**
 * One message at a time at the bottom of the screen, announced politely, with an optional
 * action. It outlives the screen that showed it (an undo after leaving a deleted patient's page).
 */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toast, setToast] = useState<Toast | null>(null);
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();

  const show = useCallback((message: string, action?: ToastAction) => {
    setToast({ id: ++lastId, message, action });
  }, []);

  useEffect(() => {
    if (!toast || toast.action || toast.error) return;
    const timer = setTimeout(() => setToast((t) => (t?.id === toast.id ? null : t)), PLAIN_TOAST_MS);
    return () => clearTimeout(timer);
  }, [toast]);

  async function act(action: ToastAction) {
    if (busy) return;
    setBusy(true);
    try {
      await action.run();
      setToast({ id: ++lastId, message: action.done });
      if (action.open) navigate(action.open);
    } catch (e) {
      setToast((t) => t && { ...t, id: ++lastId, message: errorText(e), error: true, action: undefined });
    } finally {
      setBusy(false);
    }
  }

  const value = useMemo(() => ({ show }), [show]);
  return (
    <ToastContext.Provider value={value}>
      {children}
      <div className="pointer-events-none fixed inset-x-0 bottom-4 z-40 flex justify-center px-4">
        <div role="status" aria-live="polite" className="pointer-events-auto w-full max-w-md empty:hidden">
          {toast && (
            <div className={`flex items-center gap-3 rounded-lg border px-4 py-3 text-sm shadow-lg ${
              toast.error ? 'border-red-300 bg-red-50 text-red-900' : 'border-slate-700 bg-slate-800 text-white'}`}>
              <span className="mr-auto">{toast.message}</span>
              {toast.action && (
                <button type="button" aria-busy={busy} onClick={() => toast.action && act(toast.action)}
                  className="rounded-md px-2 py-1 font-semibold text-amber-300 underline underline-offset-2 hover:bg-slate-700 focus-visible:outline-2 focus-visible:outline-amber-300">
                  {toast.action.label}
                </button>
              )}
              <button type="button" aria-label="Zamknij powiadomienie" onClick={() => setToast(null)}
                className={`rounded-md px-2 py-1 focus-visible:outline-2 ${
                  toast.error ? 'hover:bg-red-100 focus-visible:outline-red-700' : 'hover:bg-slate-700 focus-visible:outline-white'}`}>
                ✕
              </button>
            </div>
          )}
        </div>
      </div>
    </ToastContext.Provider>
  );
}

export function useToast(): Toasts {
  const toasts = useContext(ToastContext);
  if (!toasts) throw new Error('useToast outside ToastProvider');
  return toasts;
}
