import { useEffect, type ReactNode } from 'react';

/** The screen's heading, also used as the browser tab's title. */
export function ScreenTitle({ children, title }: { children: ReactNode; title: string }) {
  useEffect(() => {
    document.title = `${title} · TherapyAssistance`;
  }, [title]);
  return <h1 className="heading">{children}</h1>;
}
