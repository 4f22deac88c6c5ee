// The driver process: the benchmark forks one per contender and run (fresh JIT state and heap for each), sends it
// a Plan and gets back `{ result }` or `{ error }`. See run-contender.ts.
import { type Plan, runPair } from './driver.js';

process.once('message', async (plan: Plan) => {
  let reply: object;
  try {
    reply = { result: await runPair(plan) };
  } catch (e) {
    reply = { error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  process.send!(reply, () => process.exit(0));
});
