import { useEffect, useId, useRef, type ReactNode } from 'react';
import { useAction } from '../forms/useAction';

/**
 * A modal built on the native <dialog>: the browser keeps focus inside and turns Escape into
 * onClose. Focus starts at the first field, if any, and goes back to the opener on close (the
 * browser's own return does not survive React removing the element).
 * Rendered only while open.
 */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement;
    dialog?.showModal();
    dialog?.querySelector<HTMLElement>('input, select, textarea')?.focus();
    return () => {
      dialog?.close();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      className="m-auto w-[calc(100%-1rem)] max-w-lg rounded-lg p-0 shadow-xl backdrop:bg-slate-900/50"
    >
      <div className="flex items-center justify-between border-b border-slate-200 px-4 py-3">
        <h2 id={titleId} className="text-lg font-semibold">{title}</h2>
        <button type="button" className="btn-secondary" onClick={onClose} aria-label="Zamknij">✕</button>
      </div>
      <div className="max-h-[80vh] overflow-y-auto p-4">{children}</div>
    </dialog>
  );
}

/** Asks before something that cannot be undone; shows the API's refusal if it comes. */
export function ConfirmDialog({ title, message, confirmLabel, onConfirm, onClose }: {
  title: string;
  message: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const { busy, error, run } = useAction();
  return (
    <Dialog title={title} onClose={onClose}>
      <div className="space-y-4">
        <p>{message}</p>
        {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
        <div className="flex justify-end gap-2">
          <button type="button" className="btn-secondary" onClick={onClose}>Anuluj</button>
          <button type="button" className="btn-danger" onClick={() => run(onConfirm)} disabled={busy}>{confirmLabel}</button>
        </div>
      </div>
    </Dialog>
  );
}
