// The benchmark's command line (bench/args.ts): its defaults and its errors, without running it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resolve } from "node:path";
import { commandLine, parseArgs, UsageError } from "../../bench/args.ts";

const parse = (argv: string[], realAvailable = false) => parseArgs(argv, { realAvailable, defaultOut: "/R.md" });

describe("bench arguments", () => {
  test("a full run: every size, the stand-in modes, RESULTS.md", () => {
    assert.deepEqual(parse([]), {
      depth: "full",
      strict: false,
      backends: ["standin", "calibrated"],
      judged: "calibrated",
      waitQuietS: 0,
      sizes: [1, 10, 100, 1000],
      out: "/R.md",
    });
    assert.deepEqual(parse(["--backend", "both"], true).backends, ["standin", "calibrated", "real"]);
    assert.equal(parse([], true).judged, "real");
  });

  test("quick runs and other sizes print only, unless --out says where", () => {
    const q = parse(["--quick", "--strict", "--wait-quiet=600"]);
    assert.deepEqual([q.depth, q.sizes, q.out, q.strict, q.waitQuietS], ["quick", [1, 10, 100], undefined, true, 600]);
    const smoke = parse(["--smoke", "--backend", "real"], true);
    assert.deepEqual([smoke.depth, smoke.sizes, smoke.out], ["smoke", [1], undefined]);
    assert.deepEqual(parse(["--sizes", "10, 1"]).sizes, [1, 10]);
    assert.equal(parse(["--sizes", "1"]).out, undefined);
    assert.equal(parse(["--sizes=1", "--out", "r.md"]).out, resolve("r.md"));
    assert.deepEqual(parse(["--backend", "standin"]), { ...parse(["--backend=standin"]), judged: "standin" });
  });

  test("bad input is a UsageError that says what is wrong", () => {
    const bad: Array<[string[], RegExp]> = [
      [["--frob"], /^unknown option --frob\nusage: npm run bench/],
      [["stray"], /^unexpected argument stray$/],
      [["--sizes"], /^--sizes needs a value$/],
      [["--out", "--quick"], /^--out needs a value$/],
      [["--sizes", "0,5001"], /^--sizes takes a comma list of integers between 1 and 5000$/],
      [["--sizes", "1", "--sizes", "2"], /^--sizes is given twice$/],
      [["--quick=yes"], /^--quick takes no value$/],
      [["--quick", "--smoke"], /^--quick and --smoke exclude each other$/],
      [["--wait-quiet", "soon"], /^--wait-quiet takes a number of seconds/],
      [["--backend", "kind"], /^--backend takes standin, calibrated, real \(a comma list\) or both$/],
      [["--backend", "standin,standin"], /^--backend names a mode twice/],
      [["--backend", "real"], /^--backend real needs GPS_KUBE_ASSETS/],
    ];
    for (const [argv, message] of bad)
      assert.throws(
        () => parse(argv),
        (e) => e instanceof UsageError && message.test(e.message),
      );
  });

  test("the command RESULTS.md quotes", () => {
    assert.equal(commandLine([], "bench"), "npm run bench");
    assert.equal(commandLine(["--quick"], "bench"), "npm run bench -- --quick");
    assert.equal(commandLine(["--quick"], undefined), "node --import tsx bench/bench.ts --quick");
  });
});
