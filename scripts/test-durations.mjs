// A node --test reporter (scripts/test.mjs adds it beside the usual one): when the run ends, how
// long each test file took, slowest first, for finding what makes the suite slow, and when it
// started and ended (seconds into the run), for finding where the cores wait: a file's time runs
// from the runner taking it off its queue (its process starting) to the file's completion.
export default async function* durations(source) {
  const started = Date.now();
  const begun = new Map();
  const rows = new Map();
  for await (const event of source) {
    const { file, name } = event.data ?? {};
    if (!file || name !== file) continue;
    if (event.type === "test:dequeue") begun.set(file, Date.now());
    if (event.type === "test:complete" && begun.has(file)) rows.set(file, [begun.get(file), Date.now()]);
  }
  const at = (t) => ((t - started) / 1000).toFixed(0).padStart(5);
  const sorted = [...rows]
    .map(([file, [from, to]]) => [file.replace(`${process.cwd()}/`, ""), from, to])
    .sort((a, b) => b[2] - b[1] - (a[2] - a[1]));
  const width = Math.max(0, ...sorted.map(([f]) => f.length));
  yield `\n# seconds per test file (${sorted.length} files; ${((Date.now() - started) / 1000).toFixed(0)} s in all): took, from, to\n`;
  for (const [file, from, to] of sorted)
    yield `#   ${file.padEnd(width)} ${((to - from) / 1000).toFixed(1).padStart(7)} ${at(from)} ${at(to)}\n`;
}
