// Runs test files in the order given, a few at a time, each in a process of its own (started by scripts/test.mjs
// with `--import tsx`, which node:test hands to every file's process). `node --test` would sort the files by name
// first, and the order is what keeps a two-core CI machine busy to the end: the longest files start first and
// the short ones fill the gaps at the end (scripts/test.mjs ranks them). Reports as `node --test` does: TAP (spec
// on a terminal) to stdout, the seconds per file to stderr; exits 1 when a test failed.
//
//   node --import tsx scripts/test-files.mjs [--test-concurrency=N] [--test-name-pattern=RE] FILE...
import { run } from "node:test";
import { spec, tap } from "node:test/reporters";
import { resolve } from "node:path";
import { PassThrough } from "node:stream";
import durations from "./test-durations.mjs";

const args = process.argv.slice(2);
// Absolute, as node --test names them: a file's own events then carry its path as their name.
const files = args.filter((a) => !a.startsWith("--")).map((f) => resolve(f));
const options = { files, concurrency: 1 };
for (const a of args.filter((x) => x.startsWith("--"))) {
  const [flag, value = ""] = a.split(/=(.*)/s);
  if (flag === "--test-concurrency" && /^[1-9]\d*$/.test(value)) options.concurrency = Number(value);
  else if (flag === "--test-name-pattern" && value) (options.testNamePatterns ??= []).push(value);
  else {
    process.stderr.write(`test-files: ${a}: not an option here (--test-concurrency=N, --test-name-pattern=RE)\n`);
    process.exit(2);
  }
}

let failed = false;
const outputs = [
  [process.stdout.isTTY ? spec : tap, process.stdout],
  [durations, process.stderr],
].map(([reporter, destination]) => {
  const events = new PassThrough({ objectMode: true });
  events.compose(reporter).pipe(destination);
  return events;
});
const stream = run(options);
stream.on("data", (event) => {
  if (event.type === "test:fail") failed = true;
  for (const o of outputs) o.write(event);
});
stream.on("end", () => {
  for (const o of outputs) o.end();
  process.exitCode = failed ? 1 : 0;
});
