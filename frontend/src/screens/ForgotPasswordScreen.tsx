import { useState } from 'react';
import { Link } from 'react-router-dom';
import { requestPasswordReset } from '../api/endpoints';
import { Alert, Notice } from '../components/Alert';
import { TextField } from '../components/Field';
import { useForm } from '../forms/useForm';
import { validateEmail } from '../forms/validation';
import { AuthFrame } from './AuthFrame';

/** "Nie pamiętasz hasła?": asks for a link by e-mail; the answer is the same whether the account exists or not. */
export function ForgotPasswordScreen() {
  const form = useForm({ email: '' });
  const [done, setDone] = useState<string | null>(null);
  const submit = form.onSubmit(validateEmail, async (v) => {
    setDone((await requestPasswordReset(v.email.trim())).detail);
  });
  return (
    <AuthFrame title="Nie pamiętasz hasła?">
      {done ? <Notice message={done} /> : (
        <form noValidate onSubmit={submit} className="space-y-4">
          <p className="text-sm text-slate-600">Podaj adres, na który zarejestrowano konto. Wyślemy link do ustawienia nowego hasła, ważny 60 minut.</p>
          <Alert message={form.apiMessage} />
          <TextField label="Email" type="email" autoComplete="username" {...form.field('email')} />
          <button type="submit" className="btn-primary w-full" disabled={form.busy}>Wyślij link</button>
        </form>
      )}
      <p className="text-sm"><Link className="link" to="/logowanie">Wróć do logowania</Link></p>
    </AuthFrame>
  );
}
