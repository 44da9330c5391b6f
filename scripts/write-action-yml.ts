import { writeFileSync } from "node:fs";
import { actionYaml } from "../src/faces/action-metadata.js";

writeFileSync(process.argv[2] ?? "action.yml", actionYaml());
