// Reading the repository's Markdown the way GitHub renders it, so the docs
// tests can check what a reader sees: fenced code blocks, headings and their
// anchors, relative links. Pure functions: no file is read here.

export interface CodeBlock {
  /** The info string's first word, lower-cased ("" for a bare fence). */
  lang: string;
  /** The block's text, the fence's own indentation removed. */
  text: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
}

const FENCE = /^( {0,3}|\s*)(`{3,}|~{3,})\s*([^\s`]*)/;

/** Fenced code blocks, including those indented inside list items. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[j]!);
      if (close && close[1]!.startsWith(fence!)) break;
      body.push(lines[j]!.startsWith(indent!) ? lines[j]!.slice(indent!.length) : lines[j]!.trimStart());
    }
    blocks.push({ lang: open[3]!.toLowerCase(), text: body.join("\n") + "\n", line: i + 1 });
    i = j;
  }
  return blocks;
}

/** The Markdown with fenced blocks and inline code spans blanked, so headings and links inside code are not read. */
export function prose(markdown: string): string {
  const lines = markdown.split("\n");
  let fence: string | null = null;
  return lines
    .map((line) => {
      const f = /^\s*(`{3,}|~{3,})/.exec(line);
      if (fence === null && f) {
        fence = f[1]!;
        return "";
      }
      if (fence !== null) {
        if (f && f[1]!.startsWith(fence) && /^\s*(`{3,}|~{3,})\s*$/.test(line)) fence = null;
        return "";
      }
      return line.replace(/(`+)[^`]*?\1/g, "``");
    })
    .join("\n");
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, … */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const lines = markdown.split("\n");
  let fence = false;
  for (const line of lines) {
    if (/^\s*(`{3,}|~{3,})/.test(line)) fence = !fence;
    if (fence) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const text = h[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1") // a link's text only
      .replace(/[`*_]/g, (c) => (c === "_" ? "_" : "")); // formatting marks, not underscores
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Targets of inline links and images outside code, e.g. "docs/x.md#a", "#b", "https://…". */
export function links(markdown: string): string[] {
  const out: string[] = [];
  for (const m of prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1]!);
  return out;
}

/**
 * Shell words of one command line, quotes removed, up to the first unquoted
 * operator or comment (`|`, `&&`, `;`, `>`, `#`…): enough to read the
 * arguments of a documented invocation, not a shell.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word += line.slice(i + 1, end < 0 ? undefined : end);
      inWord = true;
      i = end < 0 ? line.length : end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === "\\" && j + 1 < line.length) j++;
        word += line[j];
      }
      inWord = true;
      i = j;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (/[|&;<>]/.test(c) || (c === "#" && !inWord)) {
      break;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Logical lines of a script: backslash-newline continuations joined. */
export function logicalLines(text: string): string[] {
  return text.replace(/\\\n\s*/g, " ").split("\n");
}

const BARE = /^gitlab-pull-secret(@[\w.^~-]+)?$/;
const IMAGE = /\/gitlab-pull-secret:[\w.-]+$/;

/**
 * The arguments of every documented CLI invocation in a script or YAML text:
 * `gitlab-pull-secret …` in command position (after VAR=value assignments or
 * `npx [--yes]`), or the image `…/gitlab-pull-secret:TAG` followed by a
 * command (docker run).
 */
export function cliInvocations(text: string): string[][] {
  const found: string[][] = [];
  for (const line of logicalLines(text)) {
    // YAML: the value of `run: …`, `- …` list items.
    const words = shellWords(line.replace(/^\s*(?:-\s+)?(?:[\w-]+:\s+)?/, ""));
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      const before = words
        .slice(0, i)
        .filter((p) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(p) && p !== "npx" && p !== "--yes" && p !== "-y");
      const commandPosition = BARE.test(w) && before.length === 0;
      // An image reference runs the CLI only when a command follows it (docker run …), not flags (cosign verify …).
      const image = IMAGE.test(w) && !words[i + 1]?.startsWith("-");
      if ((commandPosition || image) && i + 1 < words.length) {
        found.push(words.slice(i + 1));
        break;
      }
    }
  }
  return found;
}
