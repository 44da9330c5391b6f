import { startWorld } from "/work/main/test/support/world.ts";
const t = performance.now();
const world = await startWorld();
console.log("startWorld ms", (performance.now() - t).toFixed(0), !!world.registry);
await world.close();
