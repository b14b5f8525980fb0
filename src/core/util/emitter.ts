/** A disposable handle, shaped like VS Code's so the host can push it to its subscriptions. */
export interface Disposable {
  dispose(): void;
}

/** A listener registration function, the core's equivalent of `vscode.Event<T>`. */
export type Event<T> = (listener: (value: T) => void) => Disposable;

/**
 * A tiny event emitter so that the core needs nothing from `vscode`. Owners keep the emitter
 * private and expose `emitter.event` as a public read-only `onDidX`.
 */
export class Emitter<T> {
  private listeners: Array<(value: T) => void> = [];
  private disposed = false;

  readonly event: Event<T> = (listener) => {
    if (this.disposed) return { dispose: () => undefined };
    this.listeners.push(listener);
    return {
      dispose: () => {
        this.listeners = this.listeners.filter((l) => l !== listener);
      },
    };
  };

  /** Calls every listener; a listener that throws does not stop the others. */
  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        // A faulty listener must not break the run that emits; report and continue.
        console.error('tapps-flow: an event listener threw:', error);
      }
    }
  }

  dispose(): void {
    this.disposed = true;
    this.listeners = [];
  }
}
