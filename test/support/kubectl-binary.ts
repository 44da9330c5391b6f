// Which kubectl binary the tests run.
//
// The Google Cloud SDK's `kubectl` (the one on these machines) is a dispatcher: for every command it reads the
// kubeconfig, asks the server for /version, and runs the kubectl of the matching minor version that sits beside it
// (kubectl.1.29, ...) in a second Go process; for a server it has no match for, it runs its own built-in kubectl.
// Against the real control plane (v1.29) every kubectl call therefore cost two Go starts and one extra request,
// twice what a call to the stand-in cost, on a CI machine whose two cores the suite keeps busy. The tests run the
// binary the dispatcher would have picked for that server, found once by asking the dispatcher itself (`kubectl
// version` against the server prints the client it dispatched to): the same real kubectl runs the same commands,
// without the pre-flight. With any other kubectl on PATH, that kubectl runs as it is.
import { execFile } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

interface Versions {
  clientVersion: { major: string; minor: string; gitVersion: string };
}

const picked = new Map<string, Promise<string>>();

/**
 * The kubectl binary to run against the server `kubeconfig` names. `server` keys the answer: a stand-in and a real
 * control plane report different versions, every server of one kind the same, so the dispatcher is asked once per
 * kind of server per process. Asked asynchronously: the stand-in that answers may run in this process.
 */
export function kubectlFor(kubeconfig: string, server: string, env: Record<string, string>): Promise<string> {
  let binary = picked.get(server);
  if (!binary) {
    binary = pick(kubeconfig, env);
    picked.set(server, binary);
  }
  return binary;
}

async function pick(kubeconfig: string, env: Record<string, string>): Promise<string> {
  const run = promisify(execFile);
  const onPath = (await run("sh", ["-c", "command -v kubectl"], { encoding: "utf8", env })).stdout.trim();
  const client = (await run(onPath, ["version", "--client", "-o", "json"], { encoding: "utf8", env })).stdout;
  if (!(JSON.parse(client) as Versions).clientVersion.gitVersion.includes("dispatcher")) return onPath;
  const both = (await run(onPath, ["--kubeconfig", kubeconfig, "version", "-o", "json"], { encoding: "utf8", env }))
    .stdout;
  const { major, minor } = (JSON.parse(both) as Versions).clientVersion;
  const beside = join(dirname(realpathSync(onPath)), `kubectl.${major}.${minor.replace(/\D+$/, "")}`);
  return existsSync(beside) ? beside : onPath;
}
