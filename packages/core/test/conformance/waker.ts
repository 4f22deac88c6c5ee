// Worker-thread side of the conformance suite's "woken from another thread" case: after `delayMs`, bumps the word
// and wakes it through the platform's own WordWaits (a memory region is shared as its SharedArrayBuffer).
import { parentPort, workerData } from 'node:worker_threads';
import { Region } from '@shm/core';
import { platformByName } from '../../src/platform/choose-platform.js';
import { MemoryPlatform } from '../../src/platform/memory-platform.js';
import type { WordTarget } from '../../src/platform/platform.js';

const { platform, name, buffer, offset, delayMs } = workerData as {
  platform: string;
  name?: string;
  buffer?: SharedArrayBuffer;
  offset: number;
  delayMs: number;
};
let target: WordTarget;
let close = () => {};
if (platform === 'memory') {
  const i32 = new Int32Array(buffer!);
  target = { id: 'shared buffer', i32, closed: false, mapping: undefined as never };
} else {
  const region = Region.open({ name: name! });
  target = region;
  close = () => region.close();
}
const words = platform === 'memory' ? new MemoryPlatform().words : platformByName(platform).words;
parentPort!.postMessage('ready');
setTimeout(() => {
  Atomics.add(target.i32, offset >> 2, 1);
  words.wake(target, offset);
  close();
  parentPort!.postMessage('woke');
}, delayMs);
