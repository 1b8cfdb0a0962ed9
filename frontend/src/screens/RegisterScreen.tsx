import { Link, Navigate, useNavigate } from 'react-router-dom';
import { login, register } from '../api/endpoints';
import { useAuth } from '../auth/AuthContext';
import { Alert } from '../components/Alert';
import { TextField } from '../components/Field';
import { useForm } from '../forms/useForm';
import { MIN_PASSWORD, validateRegistration } from '../forms/validation';
import { AuthFrame } from './AuthFrame';

export function RegisterScreen() {
  const { token, signIn } = useAuth();
  const navigate = useNavigate();
  const form = useForm({ email: '', password: '', repeat: '' });

  if (token) return <Navigate to="/" replace />;

  const submit = form.onSubmit(validateRegistration, async (v) => {
    await register(v.email.trim(), v.password);
    const { access_token } = await login(v.email.trim(), v.password);
    signIn(access_token);
    navigate('/', { replace: true });
  });

  return (
    <AuthFrame title="Rejestracja">
      <form noValidate onSubmit={submit} className="space-y-4">
        <Alert message={form.apiMessage} />
        <TextField label="Email" type="email" autoComplete="email" {...form.field('email')} />
        <TextField label="Hasło" type="password" autoComplete="new-password"
          hint={`Co najmniej ${MIN_PASSWORD} znaków.`} {...form.field('password')} />
        <TextField label="Powtórz hasło" type="password" autoComplete="new-password" {...form.field('repeat')} />
        <button type="submit" className="btn-primary w-full" disabled={form.busy}>Utwórz konto</button>
      </form>
      <p className="text-sm">
        Masz już konto? <Link className="link" to="/logowanie">Zaloguj się</Link>
      </p>
    </AuthFrame>
  );
}
