import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';

interface Labelled {
  label: string;
  error?: string;
  hint?: string;
}

/** A label, the control, and its hint or error, tied together for screen readers. */
function FieldFrame({ label, error, hint, children }: Labelled & { children: (aria: object) => ReactNode }) {
  const id = useId();
  const noteId = `${id}-note`;
  const aria = {
    id,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': error || hint ? noteId : undefined,
  };
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium text-slate-700">{label}</label>
      {children(aria)}
      {error ? (
        <p id={noteId} className="text-sm text-red-700">{error}</p>
      ) : hint ? (
        <p id={noteId} className="text-sm text-slate-500">{hint}</p>
      ) : null}
    </div>
  );
}

export function TextField({ label, error, hint, ...input }: Labelled & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <FieldFrame label={label} error={error} hint={hint}>
      {(aria) => <input className="input" {...input} {...aria} />}
    </FieldFrame>
  );
}

export function SelectField({ label, error, hint, children, ...select }: Labelled & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <FieldFrame label={label} error={error} hint={hint}>
      {(aria) => <select className="input" {...select} {...aria}>{children}</select>}
    </FieldFrame>
  );
}

export function TextAreaField({ label, error, hint, ...area }: Labelled & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return (
    <FieldFrame label={label} error={error} hint={hint}>
      {(aria) => <textarea className="input" rows={5} {...area} {...aria} />}
    </FieldFrame>
  );
}
