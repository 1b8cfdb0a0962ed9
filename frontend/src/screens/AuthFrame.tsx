import type { ReactNode } from 'react';
import { ScreenTitle } from '../components/ScreenTitle';

/** The centred card of the screens before login. */
export function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="flex min-h-screen items-center justify-center px-4 py-8">
      <div className="card w-full max-w-sm space-y-4 p-6">
        <p className="text-lg font-semibold text-indigo-700">TherapyAssistance</p>
        <ScreenTitle title={title}>{title}</ScreenTitle>
        {children}
      </div>
    </main>
  );
}
