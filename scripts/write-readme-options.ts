import { readFileSync, writeFileSync } from "node:fs";
import { withOptionsTable } from "../src/faces/options-doc.js";

writeFileSync("docs/options.md", withOptionsTable(readFileSync("docs/options.md", "utf8")));
