// Every unit test file, in this one process. `node --test` on Node 20 starts a process per file, and a unit file's
// own work is a fraction of the half second of CPU that Node and tsx take to start: forty of them cost more CPU to
// start than to run. `npm test` runs this file; any one unit file still runs alone
// (`node --import tsx --test test/unit/plan.test.ts`).
import { readdirSync } from "node:fs";

const dir = new URL("./unit/", import.meta.url);
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith(".test.ts"))
  .sort())
  await import(new URL(file, dir).href);
