import { useState } from 'react';
import { changePassword } from '../api/endpoints';
import { useAuth } from '../auth/AuthContext';
import { Alert, Notice } from '../components/Alert';
import { TextField } from '../components/Field';
import { ScreenTitle } from '../components/ScreenTitle';
import { useForm } from '../forms/useForm';
import { MIN_PASSWORD, validatePasswordChange } from '../forms/validation';

/** "Zmień hasło": the database ends every earlier session of the account; this one goes on with the fresh token. */
export default function PasswordScreen() {
  const { signIn } = useAuth();
  const form = useForm({ current: '', password: '', repeat: '' });
  const [done, setDone] = useState<string | null>(null);

  const submit = form.onSubmit(validatePasswordChange, async (v) => {
    setDone(null);
    const answer = await changePassword(v.current, v.password);
    signIn(answer.access_token);
    form.setValues({ current: '', password: '', repeat: '' });
    setDone('Hasło zostało zmienione. Pozostałe sesje tego konta zostały zakończone.');
  });

  return (
    <div className="max-w-md space-y-4">
      <ScreenTitle title="Zmień hasło">Zmień hasło</ScreenTitle>
      <p className="text-slate-600">
        Po zmianie hasła wszystkie inne sesje tego konta (na innych urządzeniach) zostaną wylogowane.
      </p>
      <form noValidate onSubmit={submit} className="card space-y-4" aria-label="Zmiana hasła">
        <Alert message={form.apiMessage} />
        <Notice message={done} />
        <TextField label="Obecne hasło" type="password" autoComplete="current-password" {...form.field('current')} />
        <TextField label="Nowe hasło" type="password" autoComplete="new-password"
          hint={`Co najmniej ${MIN_PASSWORD} znaków.`} {...form.field('password')} />
        <TextField label="Powtórz nowe hasło" type="password" autoComplete="new-password" {...form.field('repeat')} />
        <button type="submit" className="btn-primary" disabled={form.busy}>Zmień hasło</button>
      </form>
    </div>
  );
}
