// One place that talks HTTP to the API: base URL, bearer token, and turning refusals into
// Polish messages the screens can show as they are.

export const API_URL = (import.meta.env.VITE_API_URL || '/api').replace(/\/+$/, '');

const TOKEN_KEY = 'token';

export function storedToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** A refused request: `message` is ready to show; `fields` maps a form field to its own message. */
export class ApiError extends Error {
  readonly status: number;
  readonly fields: Record<string, string>;

  constructor(status: number, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.fields = fields;
  }
}

export const NETWORK_MESSAGE = 'Brak połączenia z serwerem. Sprawdź połączenie i spróbuj ponownie.';
export const SESSION_EXPIRED_MESSAGE = 'Sesja wygasła. Zaloguj się ponownie.';

function statusMessage(status: number): string {
  if (status === 401) return SESSION_EXPIRED_MESSAGE;
  if (status === 403) return 'Brak uprawnień do tej operacji.';
  if (status === 404) return 'Nie znaleziono.';
  if (status === 413) return 'Przesłane dane są za duże.';
  if (status === 429) return 'Zbyt wiele żądań. Spróbuj za chwilę.';
  if (status >= 500) return 'Błąd serwera. Spróbuj ponownie za chwilę.';
  return 'Nie udało się wykonać operacji.';
}

/** Builds the ApiError for a refused response body: the contract's `detail` string when there is one. */
export function apiError(status: number, body: unknown): ApiError {
  const fields: Record<string, string> = {};
  let message = statusMessage(status);
  if (typeof body === 'object' && body !== null) {
    const { detail, errors } = body as { detail?: unknown; errors?: unknown };
    if (typeof detail === 'string' && detail.trim() !== '') {
      message = detail;
    } else if (Array.isArray(detail)) {
      // FastAPI's shape: [{loc: [...], msg}]
      const msgs = detail.map((d: { msg?: unknown }) => d?.msg).filter((m): m is string => typeof m === 'string');
      if (msgs.length > 0) message = msgs.join('; ');
    }
    if (Array.isArray(errors)) {
      for (const e of errors as { field?: unknown; message?: unknown }[]) {
        if (typeof e?.field === 'string' && typeof e.message === 'string') fields[e.field] = e.message;
      }
    }
  }
  return new ApiError(status, message, fields);
}

/** What a screen shows for any failure of an API call. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return NETWORK_MESSAGE;
}

let onUnauthorized: () => void = () => {};

/** Called when the API refuses the stored token (expired or revoked). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export type Query = Record<string, string | number | undefined | null>;

export function buildUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return `${API_URL}${path}${qs ? `?${qs}` : ''}`;
}

interface RequestOptions {
  query?: Query;
  json?: unknown;
  form?: FormData;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (options.form) {
    body = options.form;
  } else if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  let response: Response;
  try {
    response = await fetch(buildUrl(path, options.query), { method, headers, body });
  } catch {
    throw new ApiError(0, NETWORK_MESSAGE);
  }
  const text = await response.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null; // a proxy's HTML error page: the status says enough
  }
  if (!response.ok) {
    if (response.status === 401 && token) onUnauthorized();
    throw apiError(response.status, data);
  }
  return data as T;
}

/** The JWT's payload, or null when it is not readable JSON. */
function tokenPayload(token: string): Record<string, unknown> | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const claims: unknown = JSON.parse(json);
    return typeof claims === 'object' && claims !== null ? claims as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

/** Seconds since the epoch when the JWT expires, or null when it carries no readable `exp`. */
export function tokenExpiry(token: string): number | null {
  const exp = tokenPayload(token)?.exp;
  return typeof exp === 'number' ? exp : null;
}

/** Who the JWT was issued to (`sub`, `email`), or null when it does not say. */
export function tokenUser(token: string): { id: number; email: string | null } | null {
  const claims = tokenPayload(token);
  const id = Number(claims?.sub);
  if (!claims || !Number.isSafeInteger(id) || id <= 0) return null;
  return { id, email: typeof claims.email === 'string' ? claims.email : null };
}
