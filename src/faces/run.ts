// Runs rotate on the real ports. Shared by the CLI and the Action so both run
// the very same rotation.
import type { Config } from "../config/inputs.js";
import type { Log } from "../model/ports.js";
import { rotate } from "../commands/rotate.js";
import { livePorts } from "../adapters/wiring.js";
import type { Redactor } from "../model/secret.js";
import type { RotationReport } from "../commands/rotation-report.js";

export function runRotation(config: Config, log: Log, redactor: Redactor): Promise<RotationReport> {
  return rotate(config, livePorts(config, log, redactor));
}
