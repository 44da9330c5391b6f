// undici (fetch and its dispatchers) takes about 30 ms to load and evaluate.
// Runs that never call GitLab or a registry (--version, --help, bad input,
// render) should not pay it, so it is loaded on the first request.
import type { Dispatcher } from "undici";

export type Undici = typeof import("undici");

let loading: Promise<Undici> | undefined;

export function loadUndici(): Promise<Undici> {
  return (loading ??= import("undici"));
}

/** A dispatcher whose options are fixed now and which is built, undici loaded, when the first request needs it. */
export class LazyDispatcher {
  #built: Promise<Dispatcher> | undefined;
  constructor(private readonly make: (undici: Undici) => Dispatcher) {}
  get(): Promise<Dispatcher> {
    return (this.#built ??= loadUndici().then(this.make));
  }
}

export function dispatcherOf(d: Dispatcher | LazyDispatcher | undefined): Promise<Dispatcher | undefined> {
  return d instanceof LazyDispatcher ? d.get() : Promise.resolve(d);
}
