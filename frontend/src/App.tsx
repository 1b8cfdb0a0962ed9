import { lazy, Suspense } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { AuthProvider, useAuth } from './auth/AuthContext';
import { Layout } from './components/Layout';
import { Loading } from './components/Alert';
import { LoginScreen } from './screens/LoginScreen';
import { RegisterScreen } from './screens/RegisterScreen';
import { ForgotPasswordScreen } from './screens/ForgotPasswordScreen';
import { ResetPasswordScreen } from './screens/ResetPasswordScreen';

// Screens behind the login load on demand, so the first page stays small.
const DashboardScreen = lazy(() => import('./screens/DashboardScreen'));
const PatientsScreen = lazy(() => import('./screens/PatientsScreen'));
const PatientScreen = lazy(() => import('./screens/PatientScreen'));
const CalendarScreen = lazy(() => import('./screens/CalendarScreen'));
const AppointmentsScreen = lazy(() => import('./screens/AppointmentsScreen'));
const NotesScreen = lazy(() => import('./screens/NotesScreen'));
const PaymentsScreen = lazy(() => import('./screens/PaymentsScreen'));
const PaymentScreen = lazy(() => import('./screens/PaymentScreen'));
const StatisticsScreen = lazy(() => import('./screens/StatisticsScreen'));
const AuditScreen = lazy(() => import('./screens/AuditScreen'));
const RemindersScreen = lazy(() => import('./screens/RemindersScreen'));
const SettingsScreen = lazy(() => import('./screens/SettingsScreen'));
const PasswordScreen = lazy(() => import('./screens/PasswordScreen'));

function RequireAuth() {
  const { token } = useAuth();
  const location = useLocation();
  if (!token) return <Navigate to="/logowanie" replace state={{ from: location.pathname + location.search }} />;
  return <Layout />;
}

function NotFound() {
  return <p>Nie ma takiej strony.</p>;
}

export function App() {
  return (
    <AuthProvider>
      <BrowserRouter>
        <Suspense fallback={<Loading />}>
          <Routes>
            <Route path="/logowanie" element={<LoginScreen />} />
            <Route path="/rejestracja" element={<RegisterScreen />} />
            <Route path="/nie-pamietam-hasla" element={<ForgotPasswordScreen />} />
            <Route path="/reset-hasla" element={<ResetPasswordScreen />} />
            <Route element={<RequireAuth />}>
              <Route index element={<DashboardScreen />} />
              <Route path="pacjenci" element={<PatientsScreen />} />
              <Route path="pacjenci/:id" element={<PatientScreen />} />
              <Route path="kalendarz" element={<CalendarScreen />} />
              <Route path="wizyty" element={<AppointmentsScreen />} />
              <Route path="notatki" element={<NotesScreen />} />
              <Route path="platnosci" element={<PaymentsScreen />} />
              <Route path="platnosci/statystyki" element={<StatisticsScreen />} />
              <Route path="platnosci/:id" element={<PaymentScreen />} />
              <Route path="dziennik" element={<AuditScreen />} />
              <Route path="przypomnienia" element={<RemindersScreen />} />
              <Route path="ustawienia" element={<SettingsScreen />} />
              <Route path="haslo" element={<PasswordScreen />} />
              <Route path="*" element={<NotFound />} />
            </Route>
          </Routes>
        </Suspense>
      </BrowserRouter>
    </AuthProvider>
  );
}
