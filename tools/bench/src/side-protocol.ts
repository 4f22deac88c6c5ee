import type { ContenderConfig } from './contender.js';
import type { PayloadKind, WireValue } from './payload.js';

/**
 * The commands the driver gives each side of a pair (A and B), and what the side answers. Node sides get them as
 * function calls (A) or IPC messages (B); an external side (perl-sharelite-side.pl) reads one JSON object per line
 * on stdin and writes one per line on stdout. Every answer has `ok: true`, or `ok: false` with `error`.
 *
 * Timed commands run a warm-up of ms/5 first (none when `maxOps` is given), then measure for `ms` milliseconds or
 * `maxOps` operations, whichever ends first, and answer `{ ops, ms }`: operations done and time taken, measured.
 */
export type SideCommand =
  /** Opens the value of `kind`: A creates it and stores makeValue(kind, 1); B opens it. */
  | { cmd: 'open'; kind: PayloadKind; role: 'a' | 'b'; config: ContenderConfig }
  /** Stores makeValue(kind, s) for s = seq0, seq0 + 1, ... in a loop (then flushes). */
  | { cmd: 'store'; kind: PayloadKind; ms: number; maxOps?: number; seq0: number }
  /** Fetches the latest value in a loop, checking each one (size, seq never going back). */
  | { cmd: 'fetch'; kind: PayloadKind; ms: number; maxOps?: number }
  /**
   * The A half of the hand-off: stores seq0 + 2t, waits to see seq0 + 2t + 1, for each round trip t; then stores
   * STOP_SEQ. `ops` is round trips.
   */
  | { cmd: 'ping'; kind: PayloadKind; ms: number; maxOps?: number; seq0: number }
  /**
   * The B half: waits to see seq0 + 2t, stores seq0 + 2t + 1, until it sees STOP_SEQ. Answers `started` at once
   * and the result when A stopped.
   */
  | { cmd: 'pong'; kind: PayloadKind; seq0: number }
  /** Stores makeValue(kind, seq) once (and flushes). */
  | { cmd: 'put'; kind: PayloadKind; seq: number }
  /**
   * Fetches once and answers `{ value }` (bytes as base64). With `seq`: answers the first value whose seq is at
   * least `seq`, waiting for it as the hand-off does (a contender whose reads answer from a copy the other process's
   * store invalidates sees that store once the invalidation arrived, not at the instant the store returned).
   */
  | { cmd: 'get'; kind: PayloadKind; seq?: number }
  /** Closes the value of `kind` (A removes it). */
  | { cmd: 'close'; kind: PayloadKind }
  /** Ends the process after closing whatever is still open. */
  | { cmd: 'exit' };

export interface SideResult {
  ok: boolean;
  error?: string;
  ops?: number;
  ms?: number;
  value?: WireValue;
  /** Sent by `pong` before it starts waiting; the final answer follows. */
  started?: boolean;
}
