import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { SESSION_EXPIRED_MESSAGE, setUnauthorizedHandler, storedToken, storeToken, tokenExpiry } from '../api/client';

interface Auth {
  token: string | null;
  /** Why the user was sent to the login screen, e.g. an expired session. */
  notice: string | null;
  signIn: (token: string) => void;
  signOut: (notice?: string) => void;
}

const AuthContext = createContext<Auth | null>(null);

function isExpired(token: string): boolean {
  const exp = tokenExpiry(token);
  return exp !== null && exp * 1000 <= Date.now();
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | null>(() => {
    const t = storedToken();
    return t && !isExpired(t) ? t : null;
  });
  const [notice, setNotice] = useState<string | null>(() => {
    const t = storedToken();
    return t && isExpired(t) ? SESSION_EXPIRED_MESSAGE : null;
  });

  const signIn = useCallback((t: string) => {
    storeToken(t);
    setToken(t);
    setNotice(null);
  }, []);

  const signOut = useCallback((message?: string) => {
    storeToken(null);
    setToken(null);
    setNotice(message ?? null);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => signOut(SESSION_EXPIRED_MESSAGE));
  }, [signOut]);

  // Leave when the token runs out, not at the next click.
  useEffect(() => {
    const exp = token ? tokenExpiry(token) : null;
    if (exp === null) return;
    const timer = setTimeout(() => signOut(SESSION_EXPIRED_MESSAGE), Math.max(exp * 1000 - Date.now(), 0));
    return () => clearTimeout(timer);
  }, [token, signOut]);

  const value = useMemo(() => ({ token, notice, signIn, signOut }), [token, notice, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  return auth;
}
