import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE_SOURCE_ARGS, type PairResult, type Plan } from './driver.js';

const DRIVER = fileURLToPath(new URL('./driver-main.ts', import.meta.url));

/**
 * Runs `plan` in a fresh driver process and returns its result.
 * @throws Error with the driver's message when a side failed, or when the driver died or ran past `timeoutMs`
 *   (it is then killed; its children see their channel or stdin close and leave).
 */
export function runContender(plan: Plan, timeoutMs = 600_000): Promise<PairResult> {
  const child = fork(DRIVER, [], { execArgv: NODE_SOURCE_ARGS });
  return new Promise<PairResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${plan.contender}: the driver ran past ${timeoutMs} ms and was killed`));
    }, timeoutMs);
    child.once('message', (m: { result?: PairResult; error?: string }) => {
      clearTimeout(timer);
      if (m.result) resolve(m.result);
      else reject(new Error(m.error ?? `${plan.contender}: the driver sent no result`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`${plan.contender}: the driver exited (code ${code}, signal ${signal}) without a result`),
      );
    });
    child.send(plan);
  }).finally(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise((r) => child.once('exit', r));
    }
  });
}
