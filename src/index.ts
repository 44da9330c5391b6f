// Entry of dist/index.js, the Action's `runs.main`.
import { runAction } from "./action.js";

await runAction();
