import { startWorld } from "/work/main/test/support/world.ts";
import { spawn } from "node:child_process";
const world = await startWorld({ registry: false });
const sh = (cmd: string) => new Promise<void>((ok) => spawn("bash", ["-c", cmd], { env: { ...process.env, HOME: world.home }, stdio: "inherit" }).on("close", () => ok()));
await sh(`strace -f -e trace=execve -o /tmp/gpsb/st2.txt kubectl --kubeconfig ${world.kubeconfig} get ns >/dev/null; grep execve /tmp/gpsb/st2.txt`);
for (let i = 0; i < 3; i++) await sh(`/usr/bin/time -f "%e s %M KB" kubectl --kubeconfig ${world.kubeconfig} get ns -o name | tail -1`);
for (let i = 0; i < 3; i++) await sh(`/usr/bin/time -f "%e s %M KB" /usr/lib/google-cloud-sdk/bin/kubectl.1.32 --kubeconfig ${world.kubeconfig} get ns -o name | tail -1`);
await world.close();
