// The CLI face: argv + env -> command + Config -> the command's run ->
// stderr lines for people and, with --json, one JSON object on stdout.
// Exit codes: 0 done, 1 remote failure, 2 bad input (nothing touched),
// 3 status found something that needs attention (with --warn-within).
//
// Every line but one passes the redactor. The exception is render's
// document: the credential it was asked to print, written to stdout as is.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { COMMANDS, configFor, helpText, isCommand, type CommandName } from "./commands.js";
import { ExitCode, GpsError, UsageError, exitCodeOf, refusedOf } from "../model/errors.js";
import { inputSecrets, type Config } from "../config/inputs.js";
import { OPTIONS, type OptionKey, type RawSettings } from "../config/options.js";
import { planRotation } from "../commands/plan.js";
import { planJson, planLines } from "./plan-view.js";
import { renderCredentials } from "../commands/render.js";
import { dotenvText, resultJson, streamLog, summaryLines } from "./report.js";
import { checkMetricsFile, emitStatusMetrics, observedRotation } from "./signals.js";
import { metricsText } from "./metrics.js";
import { readStatus, statusNeedsAttention } from "../commands/status.js";
import { ConfirmationRequiredError, teardown, teardownJson, teardownLines } from "../commands/revoke.js";
import { readVariables } from "../config/variables.js";
import { VERSION } from "../config/version.js";
import { checkLocalSetup, liveApiTokenPorts, livePorts } from "../adapters/wiring.js";
import { rotateApiToken } from "../commands/rotate-api-token.js";
import { Redactor } from "../model/secret.js";
import { statusJson, statusLines } from "./status-view.js";

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

type Env = Readonly<Record<string, string | undefined>>;

/** status's "something needs attention" (with --warn-within): not a failure, a signal for schedulers. */
export const ATTENTION_EXIT = 3;

function parseOptions(): NonNullable<ParseArgsConfig["options"]> {
  const options: NonNullable<ParseArgsConfig["options"]> = {
    help: { type: "boolean", short: "h" },
    version: { type: "boolean" },
  };
  for (const o of OPTIONS) {
    if (o.flag)
      options[o.flag] = o.kind === "boolean" ? { type: "boolean" } : { type: "string", multiple: o.kind === "list" };
    if ("fileFlag" in o && o.fileFlag) options[o.fileFlag] = { type: "string" };
  }
  return options;
}

/** argv -> RawSettings. Never echoes a value: a token pasted into a flag must not reach the log. */
export function readArgv(argv: string[]): {
  command: string | undefined;
  raw: RawSettings;
  help: boolean;
  version: boolean;
  tokenFile?: string;
  passwordFile?: string;
  githubTokenFile?: string;
} {
  for (const arg of argv) {
    if (/^--gitlab-token(=|$)/.test(arg)) {
      throw new UsageError(
        "--gitlab-token",
        undefined,
        "not accepted: argv is visible to every process; set GITLAB_TOKEN or use --gitlab-token-file",
      );
    }
    if (/^--github-token(=|$)/.test(arg)) {
      throw new UsageError(
        "--github-token",
        undefined,
        "not accepted: argv is visible to every process; set GPS_GITHUB_TOKEN or use --github-token-file",
      );
    }
    const password = /^(--(?:registry-)?password)(=|$)/.exec(arg);
    if (password) {
      throw new UsageError(
        password[1]!,
        undefined,
        "not accepted: argv is visible to every process; set REGISTRY_PASSWORD or use --password-file",
      );
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: parseOptions(), allowPositionals: true, strict: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    // Only the option's name: node's message may quote the value that follows it.
    const option = /'(--?[A-Za-z0-9-]+)/.exec((err as Error).message)?.[1] ?? "an option";
    const accepted =
      code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
        ? "a known option (see --help)"
        : code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE"
          ? "a value after the option (see --help)"
          : "see --help";
    throw new UsageError(option, undefined, accepted);
  }
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  const raw: RawSettings = {};
  for (const o of OPTIONS) {
    const v = o.flag ? values[o.flag] : undefined;
    if (v === undefined) continue;
    // On a command line an empty value is a mistake (an unset shell variable), never "not given":
    // read as not given, --gitlab-url '' would quietly become gitlab.com and --token-name '' the default.
    const blank = typeof v === "string" ? v.trim() === "" : Array.isArray(v) && v.every((x) => x.trim() === "");
    if (blank) {
      const fallback =
        "default" in o
          ? `its default (${o.default})`
          : "defaultText" in o
            ? `its default (${o.defaultText})`
            : "nothing";
      throw new UsageError(
        `--${o.flag}`,
        undefined,
        `an empty value; give a value, or leave the option out for ${fallback}`,
      );
    }
    raw[o.key] = v;
  }
  const [command, ...extra] = parsed.positionals;
  if (extra.length > 0) throw new UsageError("arguments", extra.join(" "), "one command followed by options");
  const tokenFile = values["gitlab-token-file"];
  const passwordFile = values["password-file"];
  const githubTokenFile = values["github-token-file"];
  return {
    command,
    raw,
    help: values.help === true,
    version: values.version === true,
    ...(typeof tokenFile === "string" ? { tokenFile } : {}),
    ...(typeof passwordFile === "string" ? { passwordFile } : {}),
    ...(typeof githubTokenFile === "string" ? { githubTokenFile } : {}),
  };
}

/**
 * A file named explicitly wins or fails: an empty one is an error, never a
 * silent fall-back to the environment variable.
 */
function readSecretFile(flag: string, path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code ?? "unreadable";
    throw new UsageError(flag, path, `a readable file holding ${what} (${code})`);
  }
  if (text.trim() === "") throw new UsageError(flag, path, `a file holding ${what} (this one is empty)`);
  return text;
}

function writeDotenv(path: string, text: string): void {
  try {
    writeFileSync(path, text, { mode: 0o644 });
  } catch (err) {
    throw new UsageError("--dotenv", path, `a writable file path (${(err as { code?: string }).code ?? "unwritable"})`);
  }
}

interface Outcome {
  exitCode: number;
  /** The report for people: stdout without --json (it is the command's product), stderr with it. */
  lines: string[];
  json: unknown;
}

/** What every command gets: its Config, a redacting log on stderr, the redactor, and the raw stdout for render. */
interface Context {
  config: Config;
  log: ReturnType<typeof streamLog>;
  redactor: Redactor;
  io: Io;
}

async function rotateCommand({ config, log, redactor }: Context): Promise<Outcome> {
  const { report, apiTokenExpiresAt } = await observedRotation(config, log, redactor);
  if (config.dotenv) writeDotenv(config.dotenv, redactor.redact(dotenvText(report, { apiTokenExpiresAt })));
  // rotate has always logged its summary on stderr; --json alone goes to stdout.
  for (const line of summaryLines(report)) log.info(line);
  return { exitCode: report.problems.length > 0 ? ExitCode.remote : ExitCode.ok, lines: [], json: resultJson(report) };
}

async function planCommand({ config, log, redactor }: Context): Promise<Outcome> {
  const plan = await planRotation(config, livePorts(config, log, redactor));
  return { exitCode: ExitCode.ok, lines: planLines(plan), json: planJson(plan) };
}

async function statusCommand({ config, log, redactor, io }: Context): Promise<Outcome> {
  checkMetricsFile(config);
  const report = await readStatus(config, livePorts(config, log, redactor));
  await emitStatusMetrics(config, report, log, redactor);
  const exitCode = statusNeedsAttention(report) ? ATTENTION_EXIT : ExitCode.ok;
  if (config.observe.statusFormat === "openmetrics") {
    // stdout is the scrape body; the table still goes to people, on stderr.
    io.stderr(`${statusLines(report).map(redactor.redact).join("\n")}\n`);
    io.stdout(redactor.redact((await metricsText("openmetrics", { status: report })).text));
    return { exitCode, lines: [], json: undefined };
  }
  return { exitCode, lines: statusLines(report), json: statusJson(report) };
}

async function revokeCommand({ config, log, redactor, io }: Context): Promise<Outcome> {
  try {
    const report = await teardown(config, livePorts(config, log, redactor), { confirm: config.yes });
    return {
      exitCode: report.problems.length > 0 ? ExitCode.remote : ExitCode.ok,
      lines: teardownLines(report),
      json: teardownJson(report),
    };
  } catch (err) {
    if (!(err instanceof ConfirmationRequiredError)) throw err;
    // Without --yes: show the plan like any report, then fail as a usage error.
    const report = { ...err.plan, applied: false, revokedTokenIds: [], deletedSecrets: [], problems: [] };
    const message = redactor.redact(err.message);
    const lines = teardownLines(report).map(redactor.redact);
    if (config.json)
      io.stdout(
        `${redactor.redact(JSON.stringify({ ...teardownJson(report), error: { message, exitCode: err.exitCode } }))}\n`,
      );
    else io.stdout(`${lines.join("\n")}\n`);
    io.stderr(`error: ${message}\n`);
    return { exitCode: err.exitCode, lines: [], json: undefined };
  }
}

async function renderCommand({ config, log, redactor, io }: Context): Promise<Outcome> {
  const rendered = await renderCredentials(config, config.renderFormat!, livePorts(config, log, redactor));
  const facts = {
    command: "render",
    format: rendered.format,
    token: rendered.token,
    ...(rendered.static ? { static: rendered.static } : {}),
    registry: rendered.registry,
    ...(rendered.registryAliases.length ? { registryAliases: rendered.registryAliases } : {}),
    verified: rendered.verified,
  };
  // The one place a secret is written: render's stdout, which the user asked for.
  if (config.json) io.stdout(`${JSON.stringify({ ...facts, content: rendered.content.reveal() })}\n`);
  else io.stdout(rendered.content.reveal());
  const what =
    rendered.format === "secret"
      ? `Secret "${config.secretName}" for ${config.namespaces.join(", ")}`
      : "a docker config.json";
  log.info(
    rendered.token
      ? `Printed ${what} with deploy token ${rendered.token.id} (${rendered.token.username}), expires ${rendered.token.expiresAt}. ` +
          `It holds a live credential: keep it out of logs. It lives until it expires or is deleted in GitLab (rotate and revoke leave rendered tokens alone).`
      : `Printed ${what} with the static credentials of ${rendered.static?.username ?? "?"}. It holds a live credential: keep it out of logs.`,
  );
  return { exitCode: ExitCode.ok, lines: [], json: undefined };
}

async function rotateApiTokenCommand({ config, log, redactor }: Context): Promise<Outcome> {
  if (config.credentials.kind !== "deploy-token")
    throw new UsageError("--username", undefined, "not an option of rotate-api-token");
  const report = await rotateApiToken(
    config.credentials.gitlabToken,
    { expiresInMs: config.apiToken.expiresInMs },
    liveApiTokenPorts(config, log, redactor),
  );
  return {
    exitCode: ExitCode.ok,
    lines: [
      `Rotated the API token "${report.rotated.name}": token ${report.previous.id} revoked, token ${report.rotated.id} expires on ` +
        `${report.rotated.expiresAt}; written to ${report.store.where} (${report.store.confirmation}).`,
    ],
    json: report,
  };
}

const RUN: Record<CommandName, (ctx: Context) => Promise<Outcome>> = {
  "rotate-api-token": rotateApiTokenCommand,
  rotate: rotateCommand,
  plan: planCommand,
  status: statusCommand,
  revoke: revokeCommand,
  render: renderCommand,
};

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
      const known = args.command && isCommand(args.command) ? args.command : undefined;
      (args.help ? io.stdout : io.stderr)(helpText(VERSION, known));
      return args.help ? ExitCode.ok : ExitCode.usage;
    }
    const command = args.command;
    if (!isCommand(command)) {
      throw new UsageError("command", command, `one of ${Object.keys(COMMANDS).join(", ")}`);
    }
    if (args.tokenFile !== undefined)
      args.raw.gitlabToken = readSecretFile("--gitlab-token-file", args.tokenFile, "the GitLab token").trim();
    // Untrimmed: parseConfig drops only a trailing line break, since spaces may belong to a password.
    if (args.passwordFile !== undefined)
      args.raw.registryPassword = readSecretFile("--password-file", args.passwordFile, "the registry password");
    if (args.githubTokenFile !== undefined)
      args.raw.githubToken = readSecretFile("--github-token-file", args.githubTokenFile, "the GitHub token").trim();
    // A flag wins over its option variable; the variable names the option in messages only when it was used.
    const fromEnv = readVariables(env, COMMANDS[command].options);
    const labels = Object.fromEntries(
      Object.entries(fromEnv.labels).filter(([key]) => args.raw[key as OptionKey] === undefined),
    );
    const raw = { ...fromEnv.raw, ...args.raw };
    json = raw.json === true || raw.json === "true"; // errors from here on are reported as --json asks
    const config = configFor(command, raw, env, "cli", labels);
    json = config.json;
    for (const form of inputSecrets(config)) redactor.add(form);

    // Fail on an unwritable --dotenv or --metrics-file before anything else runs, kubectl included.
    if (config.dotenv) writeDotenv(config.dotenv, "");
    checkMetricsFile(config);
    await checkLocalSetup(config, redactor, {
      // render never contacts the cluster; rotate-api-token only for a Secret store.
      cluster:
        command === "rotate-api-token" ? config.apiToken.store?.kind === "kubernetes-secret" : command !== "render",
      labels: { kubeconfig: labels.kubeconfig ?? "--kubeconfig", context: labels.context ?? "--context" },
    });
    const log = streamLog((line) => io.stderr(`${line}\n`), redactor);
    const outcome = await RUN[command]({ config, log, redactor, io });
    if (outcome.lines.length) (json ? io.stderr : io.stdout)(`${outcome.lines.map(redactor.redact).join("\n")}\n`);
    if (json && outcome.json !== undefined) io.stdout(`${redactor.redact(JSON.stringify(outcome.json))}\n`);
    return outcome.exitCode;
  } catch (err) {
    const message = redactor.redact(
      err instanceof GpsError ? err.message : `unexpected error: ${(err as Error).message}`,
    );
    const code = exitCodeOf(err);
    io.stderr(`error: ${message}\n`);
    if (json)
      io.stdout(`${redactor.redact(JSON.stringify({ error: { message, exitCode: code, ...refusedJson(err) } }))}\n`);
    return code;
  }
}

/** Every namespace the API server refused, uncapped (the message shows the first few): for scripts. */
function refusedJson(err: unknown): { refusedNamespaces?: Array<{ namespace: string; reason: string }> } {
  const refused = refusedOf(err);
  return refused.length
    ? { refusedNamespaces: refused.map((r) => ({ namespace: r.namespace, reason: r.reason })) }
    : {};
}
