// action.yml as data, derived from the option table. `npm run build` writes
// it; a test fails when the committed file drifts from the table.
import yaml from "js-yaml";
import { OPTIONS, OUTPUTS } from "../config/options.js";

export function actionMetadata(): Record<string, unknown> {
  const inputs: Record<string, Record<string, unknown>> = {};
  for (const o of OPTIONS) {
    if (!o.input) continue;
    const env = "env" in o && o.env ? ` Falls back to $${o.env.join(", $")}.` : "";
    inputs[o.input] = {
      description: `${o.description}${env}`,
      required: "required" in o && o.required === true,
      ...("default" in o && o.default !== undefined && !("env" in o) ? { default: o.default } : {}),
    };
  }
  const outputs = Object.fromEntries(OUTPUTS.map((o) => [o.name, { description: o.description }]));
  return {
    name: "GitLab registry pull Secret",
    description:
      "Mint a short-lived read_registry GitLab deploy token, apply it as an image pull Secret to Kubernetes namespaces, and revoke the token it replaces.",
    author: "gitlab-pull-secret",
    branding: { icon: "lock", color: "orange" },
    inputs,
    outputs,
    runs: { using: "node24", main: "dist/index.js" },
  };
}

export function actionYaml(): string {
  return (
    "# Generated from src/config/options.ts by `npm run build`; edit the option table, not this file.\n" +
    yaml.dump(actionMetadata(), { lineWidth: 120, noRefs: true, quotingType: '"' })
  );
}
