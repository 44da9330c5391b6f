import { startWorld } from "/work/main/test/support/world.ts";
import { spawn } from "node:child_process";
const world = await startWorld({ registry: false });
const sh = (cmd: string) => new Promise<void>((ok) => spawn("bash", ["-c", cmd], { env: { ...process.env, HOME: world.home }, stdio: "inherit" }).on("close", () => ok()));
await sh(`kubectl -v=6 --kubeconfig ${world.kubeconfig} get secret x -n team-a --ignore-not-found -o json 2>&1 | head -20`);
await world.close();
