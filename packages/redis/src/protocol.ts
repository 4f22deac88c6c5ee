// What a RedisConnection (the calling thread) and its worker (which owns the connection that receives the
// server's invalidations) share: control words, each store handle's words, and the channel of synchronous calls.
import type { MessagePort } from 'node:worker_threads';

/** Slots of the connection's control words (an Int32Array over a SharedArrayBuffer). */
export const CTL_REPLIES = 0; // incremented (and notified) after each reply to a synchronous port request
export const CTL_HEARTBEAT = 1; // the worker's clock (ms, wrapping) every HEARTBEAT_MS: a blocked caller sees it live
export const CTL_READY = 2; // 1 once the first connection is up, -1 if it failed
export const CTL_DOORBELL = 3; // bumped (and notified) when a handle's W_WANT asks the worker to track its head
export const CTL_WORDS = 4;
export const HEARTBEAT_MS = 100;

/**
 * Slots of a store handle's words (an Int32Array over its own SharedArrayBuffer). A copy of the value is current
 * while W_CHANGE has not moved since it was read with the worker tracking the head (W_TRACKED === W_CHANGE when
 * sent), or once the worker confirmed it: W_TRACKED === W_CHANGE and the serial the worker read when it tracked the
 * head again (W_SERIAL_HI/LO) is the copy's. See docs/decisions/0005-redis-sync-async-boundary.md.
 */
export const W_CHANGE = 0; // bumped by the worker when the head changed (an invalidation, a drop, an unseen write)
export const W_LEASE_LOST = 1; // set when a renewal found this handle's lease ended
export const W_EPOCH = 2; // bumped when a connection came back: serials cached before may name other values
export const W_TRACKED = 3; // the W_CHANGE value at which the worker last began tracking the head (-1: not now)
export const W_SERIAL_HI = 4; // the head's serial as the worker read it then (-1: unknown, or another store's)
export const W_SERIAL_LO = 5;
export const W_WANT = 6; // 1: the calling thread read a copy the worker could not vouch for; track the head again
export const HANDLE_WORDS = 8;

export function storeSerialWord(w: Int32Array, serial: number): void {
  Atomics.store(w, W_SERIAL_HI, Math.floor(serial / 4294967296));
  Atomics.store(w, W_SERIAL_LO, serial | 0);
}

export function loadSerialWord(w: Int32Array): number {
  return Atomics.load(w, W_SERIAL_HI) * 4294967296 + (Atomics.load(w, W_SERIAL_LO) >>> 0);
}

/** The channel of synchronous calls: a SharedArrayBuffer with a header, number slots and a data area. */
export const S_REQ = 0; // the caller's request number (the worker waits on it with Atomics.waitAsync)
export const S_REP = 1; // the number of the request last answered (the caller waits on it with Atomics.wait)
export const S_OP = 2;
export const S_HID = 3;
export const S_A = 4; // mode (lock/unlock), status (lock), ok (unlock)
export const S_SID = 5; // a serializer id
export const S_LEN = 6; // bytes in the data area (or in the bulk message when S_BULK is 1)
export const S_BULK = 7; // 1: the bytes travel as a message on the bulk port (too large for the data area)
export const S_STATUS = 8; // 0 ok, 1 error (a JSON WireError in the data area)
export const S_TAG = 9;
export const S_CERTAIN = 10;
export const S_HASVALUE = 11;
export const S_HEADER_WORDS = 16;
/** Float64 slots after the header: serials, tokens, timeouts. */
export const S_F_OFFSET = S_HEADER_WORDS * 4;
export const S_F_SLOTS = 4;
export const S_DATA_OFFSET = S_F_OFFSET + S_F_SLOTS * 8;
/** Bytes a request or reply carries in the channel itself; larger values go through the bulk port. */
export const S_DATA_CAPACITY = 1024 * 1024;
export const S_BYTES = S_DATA_OFFSET + S_DATA_CAPACITY;

export const OP_PING = 1;
export const OP_READ = 2;
export const OP_COMMIT = 3;
export const OP_LOCK = 4;
export const OP_UNLOCK = 5;

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
  /** The channel of synchronous calls (S_* layout). */
  sync: SharedArrayBuffer;
  syncPort: MessagePort;
  asyncPort: MessagePort;
  /** Bytes too large for the channel's data area, both ways; read with receiveMessageOnPort only. */
  bulkPort: MessagePort;
}

/** What open() tells the caller: the handle's keys and identity, so that its own connection can run commands. */
export interface HandleInfo {
  hid: number;
  name: string;
  head: string;
  lock: string;
  readers: string;
  parts: string;
  /** The store's creation id. */
  id: string;
  /** This handle's lock holder id. */
  holder: string;
  partSize: number;
  created: boolean;
}

/** A value as it travels: its serial, serializer id and bytes. */
export interface WireValue {
  serial: number;
  sid: number;
  bytes: Uint8Array;
}

/**
 * The result of a read or a commit. `tag` is the handle's change word when the request was sent; `certain` says
 * that the worker was tracking the head then and no change arrived while it was in flight, so a copy tagged `tag`
 * stays good until the word moves.
 */
export interface ReadReply {
  serial: number;
  /** Absent when the server said the serial is the one the caller already has. */
  value?: WireValue | undefined;
  tag: number;
  certain: boolean;
}

export interface CommitReply {
  /** The serial committed, or 0 on a conflict. */
  serial: number;
  /** On a serial conflict: the current value. */
  current?: WireValue | undefined;
  tag: number;
  certain: boolean;
}
