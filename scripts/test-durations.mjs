// A node --test reporter (scripts/test.mjs adds it beside the usual one): when the run ends, how
// long each test file took, slowest first, for finding what makes the suite slow. A file's time
// runs from the runner taking it off its queue (its process starting) to the file's completion.
export default async function* durations(source) {
  const started = Date.now();
  const begun = new Map();
  const took = new Map();
  for await (const event of source) {
    const { file, name } = event.data ?? {};
    if (!file || name !== file) continue;
    if (event.type === "test:dequeue") begun.set(file, Date.now());
    if (event.type === "test:complete" && begun.has(file)) took.set(file, (Date.now() - begun.get(file)) / 1000);
  }
  const rows = [...took].map(([file, s]) => [file.replace(`${process.cwd()}/`, ""), s]).sort((a, b) => b[1] - a[1]);
  const width = Math.max(0, ...rows.map(([f]) => f.length));
  yield `\n# seconds per test file (${rows.length} files; ${((Date.now() - started) / 1000).toFixed(0)} s in all)\n`;
  for (const [file, s] of rows) yield `#   ${file.padEnd(width)} ${s.toFixed(1).padStart(7)}\n`;
}
