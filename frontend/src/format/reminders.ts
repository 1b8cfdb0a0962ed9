// Reminder templates as the database fills them in (sql/reminders.sql, ta.render_template), for the
// live preview: {data} → DD.MM.RRRR, {godzina} → GG:MM, {gabinet} → the practice's name.

export const PLACEHOLDERS = ['{data}', '{godzina}', '{gabinet}'] as const;

/** The template filled in for an appointment at date (DD.MM.RRRR) and time (GG:MM). */
export function renderTemplate(template: string, date: string, time: string, practice: string): string {
  return template.replaceAll('{data}', date).replaceAll('{godzina}', time).replaceAll('{gabinet}', practice);
}

/** Braces that are not one of the three placeholders (the database refuses them too). */
export function unknownPlaceholders(template: string): string[] {
  const found = template.match(/\{[^{}]*\}?|\}/g) ?? [];
  return found.filter((p) => !(PLACEHOLDERS as readonly string[]).includes(p));
}

/** A sample appointment tomorrow at 10:00, as "Wyślij test" uses. */
export function sampleDateTime(now: Date = new Date()): { date: string; time: string } {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  const pad = (n: number) => String(n).padStart(2, '0');
  return { date: `${pad(d.getDate())}.${pad(d.getMonth() + 1)}.${d.getFullYear()}`, time: '10:00' };
}
