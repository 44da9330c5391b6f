// Writes templates/rotate.yml (the GitLab CI/CD component) from the option table.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { componentTemplate } from "../src/faces/component-metadata.js";

const out = process.argv[2] ?? "templates/rotate.yml";
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, componentTemplate());
