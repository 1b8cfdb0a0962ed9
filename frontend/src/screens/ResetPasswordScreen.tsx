import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { confirmPasswordReset } from '../api/endpoints';
import { useAuth } from '../auth/AuthContext';
import { Alert } from '../components/Alert';
import { TextField } from '../components/Field';
import { useForm } from '../forms/useForm';
import { validateNewPassword } from '../forms/validation';
import { AuthFrame } from './AuthFrame';

/** /reset-hasla?token=...: the link from the e-mail sets a new password once; every session ends. */
export function ResetPasswordScreen() {
  const token = useSearchParams()[0].get('token') ?? '';
  const navigate = useNavigate();
  const { signOut } = useAuth();
  const form = useForm({ password: '', repeat: '' });
  const submit = form.onSubmit(validateNewPassword, async (v) => {
    const { detail } = await confirmPasswordReset(token, v.password);
    signOut(detail);
    navigate('/logowanie', { replace: true });
  });
  return (
    <AuthFrame title="Nowe hasło">
      {!token ? <Alert message="Link jest niepełny: otwórz go jeszcze raz z wiadomości e-mail." /> : (
        <form noValidate onSubmit={submit} className="space-y-4">
          <Alert message={form.apiMessage} />
          <TextField label="Nowe hasło" type="password" autoComplete="new-password" {...form.field('password')} />
          <TextField label="Powtórz hasło" type="password" autoComplete="new-password" {...form.field('repeat')} />
          <button type="submit" className="btn-primary w-full" disabled={form.busy}>Ustaw hasło</button>
        </form>
      )}
      <p className="text-sm"><Link className="link" to="/nie-pamietam-hasla">Wyślij nowy link</Link></p>
    </AuthFrame>
  );
}
