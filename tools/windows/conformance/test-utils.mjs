// What packages/core/test/conformance/platform-suite.ts takes from @shm/test-utils, for the Windows run under Wine:
// unique names (as tools/windows/test-peer.mjs makes them) and a worker on the compiled JS of a suite file.
import { Worker } from 'node:worker_threads';

let counter = 0;
export function uniqueName(tag = 'conf') {
  counter += 1;
  return `shm-test-${process.pid}-${Date.now().toString(36)}-${counter}-${tag}`;
}

export function tsWorker(script, opts = {}) {
  return new Worker(script.replace(/\.ts$/, '.js'), opts);
}
