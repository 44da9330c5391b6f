// Pure: a label selector's requirements, as kubectl and the API server split them.

/** The requirements of a label selector: split on commas outside `in (...)`, trimmed. */
export function selectorRequirements(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(current.trim());
      current = "";
    } else current += ch;
  }
  out.push(current.trim());
  return out;
}

/**
 * A label selector's requirements in one order, so that `a=1,b=2` and
 * `b=2, a=1` name the same target (commands/target.ts).
 */
export function normalizeSelector(selector: string): string {
  return selectorRequirements(selector)
    .map((p) => p.replace(/\s+/g, " "))
    .filter((p) => p !== "")
    .sort()
    .join(",");
}
