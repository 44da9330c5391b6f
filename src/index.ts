// Entry of dist/index.js, the Action's `runs.main`.
import { runAction } from "./faces/action.js";

await runAction();
