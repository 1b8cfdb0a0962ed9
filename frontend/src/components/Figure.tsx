/** One figure of a summary, inside a <dl>: what it counts, the number, and a line under it. */
export function Figure({ label, value, note, className = 'card' }: {
  label: string;
  value: string | number;
  note?: string;
  className?: string;
}) {
  return (
    <div className={className}>
      <dt className="text-sm text-slate-600">{label}</dt>
      <dd className="text-2xl font-semibold tabular-nums">{value}</dd>
      {note && <dd className="text-sm text-slate-500 tabular-nums">{note}</dd>}
    </div>
  );
}
