// The database as its superuser (psql over the stack's socket: PGHOST, PGPORT), for what no API may do:
// reading every practice's rows to prove that nothing changed, deleting a user, checking invariants.
import { execFileSync } from 'node:child_process';

// Runs sql (read from standard input, so psql variables work: vars {name: value} are usable as :'name')
// and returns its output (psql -At), trimmed.
export function superSql(sql, vars = {}) {
  const args = ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'postgres',
    '-d', process.env.DB_NAME ?? 'therapyassistance'];
  for (const [name, value] of Object.entries(vars)) args.push('-v', `${name}=${value}`);
  return execFileSync('psql', args, { input: sql, encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
}

// Every row of every table that holds practice pid's data (archived rows too), as one JSON text.
export function practiceSnapshot(pid) {
  const id = Number(pid);
  if (!Number.isSafeInteger(id)) throw new Error(`bad practice id ${pid}`);
  return superSql(`select json_build_object(
    'practice', (select row_to_json(x) from ta.practices x where id = ${id}),
    'users', (select json_agg(x order by id) from ta.users x where practice_id = ${id}),
    'patients', (select json_agg(x order by id) from ta.patients x where practice_id = ${id}),
    'appointments', (select json_agg(x order by id) from ta.appointments x where practice_id = ${id}),
    'session_notes', (select json_agg(x order by id) from ta.session_notes x where practice_id = ${id}),
    'payments', (select json_agg(x order by id) from ta.payments x where practice_id = ${id}))`);
}
