import { Component, type ReactNode } from 'react';

/**
 * The last line of defence: a screen that throws while rendering, or whose code can no longer be
 * loaded (a release replaced its hashed file), shows a way out instead of a blank page.
 */
export class ErrorBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  state = { failed: false };

  static getDerivedStateFromError() {
    return { failed: true };
  }

  render() {
    if (!this.state.failed) return this.props.children;
    return (
      <div role="alert" className="card space-y-3">
        <p>Coś poszło nie tak przy wyświetlaniu tego ekranu.</p>
        <button type="button" className="btn-primary" onClick={() => window.location.reload()}>Odśwież stronę</button>
      </div>
    );
  }
}
