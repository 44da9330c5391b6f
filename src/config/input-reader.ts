// Reads one option the way every face means it: explicit value first, then its
// environment variables, then the table default; messages name the option as
// the user gave it. The per-option parsers build on this and nothing else.
import { UsageError } from "../model/errors.js";
import { OPTIONS, optionLabel, type OptionKey, type OptionSpec, type RawSettings } from "./options.js";
import type { Face } from "./config-shape.js";

export class Reader {
  constructor(
    private readonly raw: RawSettings,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly face: Face,
    private readonly labels: Readonly<Partial<Record<OptionKey, string>>> = {},
  ) {}

  spec(key: OptionKey): OptionSpec {
    return OPTIONS.find((o) => o.key === key)!;
  }

  /** The option as the user gave it: its flag, its input, or the variable it came from. */
  label(key: OptionKey): string {
    return this.labels[key] ?? optionLabel(this.spec(key), this.face);
  }

  /** The value as the face collected it, untrimmed. */
  rawValue(key: OptionKey): string | string[] | boolean | undefined {
    return this.raw[key];
  }

  /** The first non-empty env variable of the option, untrimmed (for secrets whose spaces may matter). */
  envValue(key: OptionKey): string | undefined {
    for (const name of this.spec(key).env ?? []) {
      const v = this.env[name];
      if (v) return v;
    }
    return undefined;
  }

  /** Given explicitly by the user (flag or input), not from env or default. */
  explicit(key: OptionKey): string | undefined {
    const v = this.raw[key];
    if (typeof v !== "string") return undefined;
    const t = v.trim();
    return t === "" ? undefined : t;
  }

  string(key: OptionKey): string | undefined {
    const spec = this.spec(key);
    const given = this.explicit(key);
    if (given !== undefined) return given;
    for (const name of spec.env ?? []) {
      const v = this.env[name]?.trim();
      if (v) return v;
    }
    return spec.default;
  }

  boolean(key: OptionKey): boolean {
    const v = this.raw[key];
    if (typeof v === "boolean") return v;
    if (v === undefined || v === "") return this.spec(key).default === "true";
    if (/^(true|True|TRUE)$/.test(v as string)) return true;
    if (/^(false|False|FALSE)$/.test(v as string)) return false;
    throw new UsageError(this.label(key), String(v), "true or false");
  }

  list(key: OptionKey): string[] {
    const v = this.raw[key];
    const items = typeof v === "string" ? [v] : Array.isArray(v) ? v : [];
    return items
      .flatMap((s) => s.split(/[,\n]/))
      .map((s) => s.trim())
      .filter((s) => s !== "");
  }
}
