import type { StdioOptions } from 'node:child_process';
import { expected, ShmError } from '@shm/core';

/** The environment variable that tells a child which fds carry which shares (JSON, see ShareHandle). */
export const ENV_VAR = 'SHM_MMAP_SHARE';

const KIND = '@shm/mmap-share';

/**
 * What a child needs to map a share: the fd (valid in the receiving process), the size given to the creator
 * and the serializer. Plain data: it goes through an environment variable or `workerData` unchanged.
 */
export interface ShareHandle {
  /** Always '@shm/mmap-share': marks the object as a share handle. */
  readonly kind: typeof KIND;
  /** The memfd, as numbered in the process (or thread's process) that receives this handle. */
  readonly fd: number;
  /** Bytes a value may take, as given to `new MmapShare(size)`. */
  readonly size: number;
  /** The serializer's name ('v8', 'json', 'raw', 'msgpack', ...). */
  readonly serializer: string;
  /** The serializer's id, recorded with every value. */
  readonly serializerId: number;
}

export function makeHandle(fd: number, size: number, serializer: string, serializerId: number): ShareHandle {
  return { kind: KIND, fd, size, serializer, serializerId };
}

/** Validates a handle received from elsewhere (workerData, the environment). */
export function checkHandle(h: unknown, name: string): ShareHandle {
  const o = h as Partial<ShareHandle> | null;
  if (
    typeof o !== 'object' ||
    o === null ||
    o.kind !== KIND ||
    !Number.isInteger(o.fd) ||
    (o.fd as number) < 0 ||
    !Number.isInteger(o.size) ||
    (o.size as number) < 1 ||
    typeof o.serializer !== 'string' ||
    !Number.isInteger(o.serializerId)
  ) {
    throw expected('a handle from share.transferable()', name, h);
  }
  return o as ShareHandle;
}

/** Shares handed to a child, by the name the child asks for. The share a helper is called on is 'default'. */
export type ShareMap = Record<string, { handle(fd?: number): ShareHandle; readonly fd: number }>;

/**
 * Adds one stdio slot per share after `base` and returns the stdio array and the environment variable value
 * naming, for each share, the fd it will have in the child.
 */
export function attachToStdio(shares: ShareMap, base: unknown[]): { stdio: unknown[]; env: string } {
  const stdio = [...base];
  const handles: Record<string, ShareHandle> = {};
  for (const [name, share] of Object.entries(shares)) {
    const slot = stdio.length;
    stdio.push(share.fd);
    handles[name] = share.handle(slot);
  }
  return { stdio, env: JSON.stringify(handles) };
}

/** The same value for a worker thread: fds are shared within a process, so they keep their numbers. */
export function envForThread(shares: ShareMap): string {
  const handles: Record<string, ShareHandle> = {};
  for (const [name, share] of Object.entries(shares)) handles[name] = share.handle();
  return JSON.stringify(handles);
}

/** Expands a stdio option ('pipe', 'inherit', an array, or nothing) into an array of its first slots. */
export function stdioBase(stdio: StdioOptions | undefined, fallback: unknown[], ipc: boolean): unknown[] {
  if (stdio === undefined) return [...fallback];
  if (typeof stdio === 'string') return ipc ? [stdio, stdio, stdio, 'ipc'] : [stdio, stdio, stdio];
  if (Array.isArray(stdio)) return [...stdio];
  throw expected('a string or an array (child_process stdio)', 'options.stdio', stdio);
}

let parsed: Map<string, ShareHandle> | undefined;

/** The handles this process (or thread) was started with, read once from the environment and then removed from it. */
export function inheritedHandles(): Map<string, ShareHandle> {
  if (parsed) return parsed;
  parsed = new Map();
  const raw = process.env[ENV_VAR];
  if (raw === undefined) return parsed;
  // Removed so that a grandchild started some other way does not see fds it never received.
  delete process.env[ENV_VAR];
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch (e) {
    throw new ShmError(
      'ERR_SHM_BAD_FORMAT',
      `${ENV_VAR} is not valid JSON: ${JSON.stringify(raw.slice(0, 80))}`,
      {
        target: ENV_VAR,
        cause: e,
      },
    );
  }
  if (typeof obj !== 'object' || obj === null) {
    throw new ShmError('ERR_SHM_BAD_FORMAT', `${ENV_VAR} does not hold an object of share handles`, {
      target: ENV_VAR,
    });
  }
  for (const [name, h] of Object.entries(obj)) parsed.set(name, checkHandle(h, `${ENV_VAR}.${name}`));
  return parsed;
}
