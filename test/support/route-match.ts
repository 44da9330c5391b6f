// A stand-in's route pattern (`projects/:id/variables/:key`) against a request path's segments: the named
// segments' values, or undefined when the path is another route's. `decode` turns a segment into its value:
// GitHub's routes take names decoded; GitLab's handlers decode ids themselves (a path `grp%2Fapp` is an id).
export function matchRoute(
  pattern: string,
  segs: readonly string[],
  decode: (segment: string) => string = (segment) => segment,
): Record<string, string> | undefined {
  const parts = pattern.split("/");
  if (parts.length !== segs.length) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const seg = segs[i]!;
    if (part.startsWith(":")) {
      if (seg === "") return undefined;
      out[part.slice(1)] = decode(seg);
    } else if (part !== seg) return undefined;
  }
  return out;
}
