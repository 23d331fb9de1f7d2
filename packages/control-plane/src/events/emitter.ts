// Typed events for a component that owns them: listeners subscribe through the owner's `on`, and only the
// owner, which keeps its Emitter private, can emit. Each event carries one payload object.

type Handler<T> = (payload: T) => void;

export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Handler<never>>>();

  /** Subscribes; returns the function that unsubscribes. */
  on<E extends keyof Events>(event: E, listener: Handler<Events[E]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    const entry = listener as Handler<never>;
    set.add(entry);
    return () => set.delete(entry);
  }

  /** Calls every listener in subscription order (one that subscribes meanwhile waits for the next event). */
  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) (listener as Handler<Events[E]>)(payload);
  }
}
