// Held requests: matching requests wait, after authentication and before their
// body is read, until what has arrived of them satisfies a condition (or a
// timeout passes), then go on. Lets a test prove that two processes' requests
// are at the server at the same time without depending on how the scheduler
// runs them: the first waits until the other's has arrived.
import type { Hold } from "./api.ts";
import { matches } from "./faults.ts";

interface Open {
  spec: Hold;
  arrived: string[];
  release: (() => void) | undefined;
  opened: Promise<void>;
}

export class Holds {
  private holds: Open[] = [];

  add(spec: Hold): void {
    let release: (() => void) | undefined;
    const opened = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ spec, arrived: [], release, opened });
  }

  clear(): void {
    for (const h of this.holds) h.release?.();
    this.holds = [];
  }

  /** Waits while a hold matching this request is closed; its condition sees the paths of every request it matched. */
  async pass(method: string, path: string, query: string): Promise<void> {
    for (const h of this.holds) {
      if (!matches(h.spec, method, path, query)) continue;
      h.arrived.push(path);
      if (h.spec.until(h.arrived)) h.release?.();
      else if (h.arrived.length === 1) setTimeout(() => h.release?.(), h.spec.timeoutMs).unref();
      await h.opened;
    }
  }
}
