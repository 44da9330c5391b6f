#!/usr/bin/env node
// Entry of dist/cli.js.
import { runCli } from "./faces/cli.js";

process.exitCode = await runCli(process.argv.slice(2), process.env, {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
