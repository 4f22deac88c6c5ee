// The messages between a RedisConnection (the calling thread) and its worker (which owns the Redis connection).
import type { MessagePort } from 'node:worker_threads';

/** Slots of the connection's control words (an Int32Array over a SharedArrayBuffer). */
export const CTL_REPLIES = 0; // incremented (and notified) after each reply to a synchronous request
export const CTL_HEARTBEAT = 1; // the worker's clock (ms, wrapping) every HEARTBEAT_MS: a blocked caller sees it live
export const CTL_READY = 2; // 1 once the first connection is up, -1 if it failed
export const CTL_WORDS = 4;
export const HEARTBEAT_MS = 100;

/** Slots of a store handle's words (an Int32Array over its own SharedArrayBuffer). */
export const W_CHANGE = 0; // bumped by the worker when the server invalidates the head (or the connection dropped)
export const W_LEASE_LOST = 1; // set when a renewal found this handle's lease ended
export const W_EPOCH = 2; // bumped when the connection came back: serials cached before may name other values
export const HANDLE_WORDS = 4;

export interface Request {
  id: number;
  op: string;
  sync: boolean;
  a: any;
}

export interface WireError {
  name: string;
  message: string;
  code?: string;
  target?: string;
  errno?: number;
  syscall?: string;
}

export interface Reply {
  id: number;
  ok: boolean;
  r?: any;
  e?: WireError;
}

/** What the worker is started with. */
export interface WorkerInit {
  url: string;
  /** Names the server in errors: 'redis 127.0.0.1:6379'. */
  label: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  ctl: SharedArrayBuffer;
  syncPort: MessagePort;
  asyncPort: MessagePort;
}

/** A value as the worker hands it over: its serial, serializer id and bytes. */
export interface WireValue {
  serial: number;
  sid: number;
  bytes: Uint8Array;
}

/**
 * The result of a read or a commit. `tag` is the handle's change word when the request was sent; `certain` says
 * that no invalidation arrived while it was in flight, so a copy tagged `tag` stays good until the word moves.
 */
export interface ReadReply {
  serial: number;
  /** Absent when the server said the serial is the one the caller already has. */
  value?: WireValue;
  tag: number;
  certain: boolean;
}

export interface CommitReply {
  /** The serial committed, or 0 on a conflict. */
  serial: number;
  /** On a serial conflict: the current value. */
  current?: WireValue;
  tag: number;
  certain: boolean;
}
