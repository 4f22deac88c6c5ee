import { ShmError } from '@shm/native';

/** An object opened with a size larger than it has. */
export function sizeMismatch(id: string, asked: number, actual: number): ShmError {
  return new ShmError(
    'ERR_SHM_SIZE_MISMATCH',
    `${id} has ${actual} bytes but ${asked} were asked for; open it without a size, or with at most ${actual}`,
    { target: id },
  );
}

/** A create without a size. */
export function sizeRequired(): TypeError {
  return new TypeError('Expected a size (bytes) to create a region for options.size but received undefined');
}

/** Waits a moment (5 ms) on the calling thread: a creator may be between making an object and sizing it. */
export function pause5ms(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
}
