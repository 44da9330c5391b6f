// The CLI face: argv + env -> Config -> rotation -> stderr lines and, with
// --json, one JSON object on stdout. Exit codes: 0 done, 1 remote failure
// (after rollback), 2 bad input (nothing touched).
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ExitCode, GpsError, UsageError, exitCodeOf } from "./errors.js";
import { parseConfig, type Config } from "./inputs.js";
import { OPTIONS, type RawSettings } from "./options.js";
import { Redactor, dotenvText, resultJson, streamLog, summaryLines } from "./report.js";
import { runRotation } from "./run.js";
import { VERSION } from "./version.js";

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

type Env = Readonly<Record<string, string | undefined>>;

const COMMANDS = {
  rotate: "Mint a read_registry deploy token, apply the pull Secret to every namespace, revoke the token it replaces.",
} as const;

function parseOptions(): NonNullable<ParseArgsConfig["options"]> {
  const options: NonNullable<ParseArgsConfig["options"]> = {
    help: { type: "boolean", short: "h" },
    version: { type: "boolean" },
  };
  for (const o of OPTIONS) {
    if (o.flag) options[o.flag] = o.kind === "boolean" ? { type: "boolean" } : { type: "string", multiple: o.kind === "list" };
    if ("fileFlag" in o && o.fileFlag) options[o.fileFlag] = { type: "string" };
  }
  return options;
}

export function helpText(command?: string): string {
  const lines = [
    `gitlab-pull-secret ${VERSION}: GitLab registry image pull Secrets for Kubernetes, rotated safely.`,
    "",
    `Usage: gitlab-pull-secret ${command ?? "<command>"} [options]`,
    "",
  ];
  if (!command) {
    lines.push("Commands:");
    for (const [name, text] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)}${text}`);
    lines.push("", "Run `gitlab-pull-secret <command> --help` for its options.");
  } else {
    lines.push(COMMANDS[command as keyof typeof COMMANDS], "", "Options:");
    for (const o of OPTIONS) {
      const names = [o.flag ? `--${o.flag}${o.kind === "boolean" ? "" : " VALUE"}` : undefined, "fileFlag" in o ? `--${o.fileFlag} PATH` : undefined]
        .filter(Boolean)
        .join(", ");
      const env = "env" in o && o.env ? ` [env: ${o.env.join(", ")}]` : "";
      const def = "default" in o ? ` [default: ${o.default}]` : "defaultText" in o ? ` [default: ${o.defaultText}]` : "";
      lines.push(`  ${(names || `$${"env" in o && o.env ? o.env[0] : ""}`).padEnd(34)}${o.description}${env}${def}`);
    }
    lines.push("  --help, -h".padEnd(36) + "Show this help.", "");
    lines.push("Exit codes: 0 done, 1 GitLab or the cluster failed (after rollback), 2 bad input (nothing was changed).");
  }
  return lines.join("\n") + "\n";
}

/** argv -> RawSettings. Never echoes a value: a token pasted into a flag must not reach the log. */
function readArgv(argv: string[]): { command: string | undefined; raw: RawSettings; help: boolean; version: boolean; tokenFile?: string } {
  for (const arg of argv) {
    if (/^--gitlab-token(=|$)/.test(arg)) {
      throw new UsageError("--gitlab-token", undefined, "not accepted: argv is visible to every process; set GITLAB_TOKEN or use --gitlab-token-file");
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: parseOptions(), allowPositionals: true, strict: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const option = /'(-[^'=]*)/.exec((err as Error).message)?.[1] ?? "an option";
    const accepted =
      code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ? "a known option (see --help)" : code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" ? "a value after the option (see --help)" : "see --help";
    throw new UsageError(option, undefined, accepted);
  }
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  const raw: RawSettings = {};
  for (const o of OPTIONS) {
    const v = o.flag ? values[o.flag] : undefined;
    if (v !== undefined) raw[o.key] = v;
  }
  const [command, ...extra] = parsed.positionals;
  if (extra.length > 0) throw new UsageError("arguments", extra.join(" "), "one command followed by options");
  const tokenFile = values["gitlab-token-file"];
  return {
    command,
    raw,
    help: values.help === true,
    version: values.version === true,
    ...(typeof tokenFile === "string" ? { tokenFile } : {}),
  };
}

function readTokenFile(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    const code = (err as { code?: string }).code ?? "unreadable";
    throw new UsageError("--gitlab-token-file", path, `a readable file holding the GitLab token (${code})`);
  }
}

function writeDotenv(path: string, text: string): void {
  try {
    writeFileSync(path, text, { mode: 0o644 });
  } catch (err) {
    throw new UsageError("--dotenv", path, `a writable file path (${(err as { code?: string }).code ?? "unwritable"})`);
  }
}

export async function runCli(argv: string[], env: Env, io: Io): Promise<number> {
  let json = argv.includes("--json");
  const redactor = new Redactor();
  try {
    const args = readArgv(argv);
    json = args.raw.json === true;
    if (args.version) {
      io.stdout(`${VERSION}\n`);
      return ExitCode.ok;
    }
    if (args.help || args.command === undefined) {
      const known = args.command && args.command in COMMANDS ? args.command : undefined;
      (args.help ? io.stdout : io.stderr)(helpText(known));
      return args.help ? ExitCode.ok : ExitCode.usage;
    }
    if (!(args.command in COMMANDS)) {
      throw new UsageError("command", args.command, `one of ${Object.keys(COMMANDS).join(", ")}`);
    }
    if (args.tokenFile !== undefined) args.raw.gitlabToken = readTokenFile(args.tokenFile);
    const config: Config = parseConfig(args.raw, env, "cli");
    redactor.add(config.gitlabToken.reveal());

    // Fail on an unwritable --dotenv before anything remote happens.
    if (config.dotenv) writeDotenv(config.dotenv, "");
    const log = streamLog((line) => io.stderr(`${line}\n`), redactor);
    const report = await runRotation(config, log, redactor);
    for (const line of summaryLines(report)) log.info(line);
    if (json) io.stdout(`${redactor.redact(JSON.stringify(resultJson(report)))}\n`);
    if (config.dotenv) writeDotenv(config.dotenv, redactor.redact(dotenvText(report)));
    return report.problems.length > 0 ? ExitCode.remote : ExitCode.ok;
  } catch (err) {
    const message = redactor.redact(err instanceof GpsError ? err.message : `unexpected error: ${(err as Error).message}`);
    const code = exitCodeOf(err);
    io.stderr(`error: ${message}\n`);
    if (json) io.stdout(`${JSON.stringify({ error: { message, exitCode: code } })}\n`);
    return code;
  }
}
