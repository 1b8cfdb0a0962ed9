import { useState, type ChangeEvent, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import { useAction } from './useAction';
import { hasErrors, type Errors } from './validation';

type Input = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/**
 * State of one form: values, field errors from validation or the API, the API's refusal as a
 * message, and a submit handler that validates first and keeps what the user typed on failure.
 */
export function useForm<T extends object>(initial: T) {
  const [values, setValues] = useState<T>(initial);
  const [errors, setErrors] = useState<Errors<T>>({});
  const action = useAction();

  function set<K extends keyof T>(name: K, value: T[K]) {
    setValues((v) => ({ ...v, [name]: value }));
    setErrors((e) => ({ ...e, [name]: undefined }));
  }

  /** Props for a text-like input bound to a string field. */
  function field(name: keyof T & string) {
    return {
      name,
      value: String(values[name] ?? ''),
      error: errors[name],
      onChange: (e: ChangeEvent<Input>) => set(name, e.target.value as T[typeof name]),
    };
  }

  function onSubmit(validate: (values: T) => Errors<T>, send: (values: T) => Promise<void>) {
    return async (event: FormEvent<HTMLFormElement>) => {
      event.preventDefault();
      const form = event.currentTarget;
      const found = validate(values);
      setErrors(found);
      if (hasErrors(found)) {
        requestAnimationFrame(() => form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
        return;
      }
      const failure = await action.run(() => send(values));
      if (failure) {
        if (failure instanceof ApiError) setErrors(failure.fields as Errors<T>);
        requestAnimationFrame(() => form.querySelector<HTMLElement>('[role="alert"]')?.focus());
      }
    };
  }

  return { values, set, setValues, field, errors, apiMessage: action.error, busy: action.busy, onSubmit };
}
