import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const tsxApi = pathToFileURL(
  createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/index\.cjs$/, 'index.mjs'),
).href;

/**
 * Starts a worker thread running a TypeScript file: the worker registers tsx itself (a worker does not inherit
 * the parent's --import loaders) and resolves workspace packages through the @shm/source condition.
 */
export function tsWorker(script: string, opts: WorkerOptions = {}): Worker {
  const target = pathToFileURL(script).href;
  const boot = `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(target)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), {
    ...opts,
    execArgv: ['--conditions=@shm/source', ...(opts.execArgv ?? [])],
  });
}
