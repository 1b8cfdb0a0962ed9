import { Link, Navigate, useLocation, useNavigate } from 'react-router-dom';
import { login } from '../api/endpoints';
import { useAuth } from '../auth/AuthContext';
import { Alert, Notice } from '../components/Alert';
import { TextField } from '../components/Field';
import { useForm } from '../forms/useForm';
import { validateLogin } from '../forms/validation';
import { AuthFrame } from './AuthFrame';

export function LoginScreen() {
  const { token, notice, signIn } = useAuth();
  const navigate = useNavigate();
  const from = (useLocation().state as { from?: string } | null)?.from ?? '/';
  const form = useForm({ email: '', password: '' });

  if (token) return <Navigate to={from} replace />;

  const submit = form.onSubmit(validateLogin, async (v) => {
    const { access_token } = await login(v.email.trim(), v.password);
    signIn(access_token);
    navigate(from, { replace: true });
  });

  return (
    <AuthFrame title="Logowanie">
      <Notice message={notice} />
      <form noValidate onSubmit={submit} className="space-y-4">
        <Alert message={form.apiMessage} />
        <TextField label="Email" type="email" autoComplete="username" {...form.field('email')} />
        <TextField label="Hasło" type="password" autoComplete="current-password" {...form.field('password')} />
        <button type="submit" className="btn-primary w-full" disabled={form.busy}>Zaloguj się</button>
      </form>
      <p className="text-sm">
        <Link className="link" to="/nie-pamietam-hasla">Nie pamiętasz hasła?</Link>
      </p>
      <p className="text-sm">
        Nie masz konta? <Link className="link" to="/rejestracja">Zarejestruj się</Link>
      </p>
    </AuthFrame>
  );
}
