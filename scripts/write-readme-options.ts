import { readFileSync, writeFileSync } from "node:fs";
import { withOptionsTable } from "../src/faces/options-doc.js";

writeFileSync("README.md", withOptionsTable(readFileSync("README.md", "utf8")));
