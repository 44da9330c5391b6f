// A string that refuses to be printed. Passing secrets around wrapped means a
// stray template literal, JSON.stringify or console.log shows "[redacted]".
import { inspect } from "node:util";

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return "[redacted]";
  }
  toJSON(): string {
    return "[redacted]";
  }
  [inspect.custom](): string {
    return "Secret([redacted])";
  }
}

/** Replaces every occurrence of every secret form in `text`. Longest first, so a form containing another is hidden whole. */
export function redact(text: string, forms: readonly string[]): string {
  let out = text;
  for (const form of [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length)) {
    out = out.split(form).join("***");
  }
  return out;
}

/** Remembers every secret form registered so far and masks them. */
export class Redactor {
  readonly #forms: string[] = [];
  add(form: string): void {
    if (form) this.#forms.push(form);
  }
  redact = (text: string): string => redact(text, this.#forms);
  /** Whether text holds any form registered so far. */
  holds = (text: string): boolean => this.#forms.some((form) => text.includes(form));
}
