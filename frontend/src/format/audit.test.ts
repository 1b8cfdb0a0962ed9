import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACTION_LABELS, describeEntry, ROUTE_LABELS, userLabel } from './audit';

describe('audit entries in Polish', () => {
  it('names every kind of access', () => {
    expect(ACTION_LABELS).toEqual({
      read: 'Odczyt', create: 'Dodanie', update: 'Zmiana', delete: 'Usunięcie', export: 'Eksport',
    });
  });
  it('says what an entry did and to which data', () => {
    expect(describeEntry({ action: 'read', route: 'GET /patients/{id}' })).toBe('Odczyt: karta pacjenta');
    expect(describeEntry({ action: 'export', route: 'GET /patients/{id}/export' }))
      .toBe('Eksport: wszystkie dane pacjenta (plik)');
    expect(describeEntry({ action: 'delete', route: 'DELETE /patients/{id}' })).toBe('Usunięcie: pacjent (do archiwum)');
    expect(describeEntry({ action: 'update', route: 'PUT /session_notes/note/{id}' })).toBe('Zmiana: notatka');
    expect(describeEntry({ action: 'read', route: 'GET /session_notes/{patient_id}' })).toBe('Odczyt: notatki pacjenta');
  });
  it('shows an unknown route as it is and a missing one as outside the application', () => {
    expect(describeEntry({ action: 'read', route: 'GET /nowa/{id}' })).toBe('Odczyt: GET /nowa/{id}');
    expect(describeEntry({ action: 'create', route: null })).toBe('Dodanie: poza aplikacją (konsola bazy danych)');
  });
  it('names every audited route of the API', () => {
    // Routes that never touch patient data write no audit row.
    const unaudited = ['/', '/health', '/openapi.json', '/docs', '/auth/register', '/auth/login', '/auth/me',
      '/auth/logout', '/auth/password', '/audit', '/audit/verify', '/settings', '/auth/password-reset',
      '/auth/password-reset/confirm', '/settings/reminders', '/settings/reminders/test', '/redoc'];
    const unauditedRoutes: string[] = [];
    const spec = JSON.parse(readFileSync(new URL('../../../proxy/openapi.json', import.meta.url), 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(spec.paths)
      .filter(([path]) => !unaudited.includes(path))
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .filter((route) => !unauditedRoutes.includes(route));
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.filter((r) => !(r in ROUTE_LABELS))).toEqual([]);
    expect(Object.keys(ROUTE_LABELS).filter((r) => !routes.includes(r))).toEqual([]);
  });
  it('shows the logged-in user by email and others by number', () => {
    const me = { id: 3, email: 'terapeuta@example.com' };
    expect(userLabel(3, me)).toBe('Ty (terapeuta@example.com)');
    expect(userLabel(3, { id: 3, email: null })).toBe('Ty');
    expect(userLabel(4, me)).toBe('Użytkownik nr 4');
    expect(userLabel(4, null)).toBe('Użytkownik nr 4');
  });
});
