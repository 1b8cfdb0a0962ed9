/** A refusal or failure, announced at once and focusable so the form can move focus to it. */
export function Alert({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <div role="alert" tabIndex={-1} className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800">
      {message}
    </div>
  );
}

/** A calm confirmation or hint, announced politely. */
export function Notice({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <div role="status" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900">
      {message}
    </div>
  );
}

export function Loading() {
  return <p role="status" className="text-sm text-slate-500">Wczytywanie…</p>;
}
