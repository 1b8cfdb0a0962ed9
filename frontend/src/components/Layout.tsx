import { Suspense, useEffect, useRef } from 'react';
import { Link, NavLink, Outlet, useLocation } from 'react-router-dom';
import { logout } from '../api/endpoints';
import { useAuth } from '../auth/AuthContext';
import { Loading } from './Alert';
import { ErrorBoundary } from './ErrorBoundary';
import { ToastProvider } from './Toast';

const links = [
  { to: '/', label: 'Pulpit' },
  { to: '/pacjenci', label: 'Pacjenci' },
  { to: '/kalendarz', label: 'Kalendarz' },
  { to: '/wizyty', label: 'Wizyty' },
  { to: '/notatki', label: 'Notatki' },
  { to: '/platnosci', label: 'Płatności' },
  { to: '/przypomnienia', label: 'Przypomnienia' },
  { to: '/dziennik', label: 'Dziennik dostępu' },
  { to: '/ustawienia', label: 'Ustawienia' },
];

/** The frame of every logged-in screen: navigation, "Zmień hasło", "Wyloguj", and the screen itself. */
export function Layout() {
  const { signOut } = useAuth();
  // The token is ended in the database first (it answers 401 from then on, wherever a copy of it is), then
  // forgotten here; a failure to reach the server still logs this browser out.
  async function endSession() {
    try {
      await logout();
    } catch {
      // Unreachable or already ended: forgetting it below is all that is left to do.
    }
    signOut();
  }
  const { pathname } = useLocation();
  const main = useRef<HTMLElement>(null);
  const shownPath = useRef(pathname);
  // After moving to another screen, start keyboard and screen reader users at its content.
  useEffect(() => {
    if (pathname === shownPath.current) return;
    shownPath.current = pathname;
    main.current?.focus();
  }, [pathname]);

  return (
    <ToastProvider>
      <div className="min-h-screen">
        <a href="#tresc" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2">
          Przejdź do treści
        </a>
        <header className="border-b border-slate-200 bg-white">
          <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
            <span className="text-lg font-semibold text-indigo-700">TherapyAssistance</span>
            <nav aria-label="Główna" className="order-3 -mx-2 flex w-full flex-wrap gap-0.5 sm:order-none sm:mx-0 sm:w-auto sm:gap-1">
              {links.map((l) => (
                <NavLink
                  key={l.to}
                  to={l.to}
                  end={l.to === '/'}
                  className={({ isActive }) =>
                    `whitespace-nowrap rounded-md px-2 py-2 text-sm sm:px-3 font-medium focus-visible:outline-2 focus-visible:outline-indigo-600 ${
                      isActive ? 'bg-indigo-50 text-indigo-800' : 'text-slate-700 hover:bg-slate-100'}`}
                >
                  {l.label}
                </NavLink>
              ))}
            </nav>
            <Link to="/haslo" className="link ml-auto text-sm">Zmień hasło</Link>
            <button type="button" className="btn-secondary" onClick={() => void endSession()}>Wyloguj</button>
          </div>
        </header>
        <main id="tresc" ref={main} tabIndex={-1} className="mx-auto max-w-6xl px-4 pt-6 pb-24 outline-none">
          <ErrorBoundary key={pathname}>
            <Suspense fallback={<Loading />}>
              <Outlet />
            </Suspense>
          </ErrorBoundary>
        </main>
      </div>
    </ToastProvider>
  );
}
