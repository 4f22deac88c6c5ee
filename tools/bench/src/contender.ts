import type { ChildProcess, ForkOptions } from 'node:child_process';
import type { PayloadKind, Value } from './payload.js';

/**
 * One process's handle on the shared value of one payload kind. Process A opens it first (creating whatever holds
 * the value, and storing an initial value with seq 1), then process B opens the same thing.
 */
export interface Endpoint {
  /** Makes `value` the latest value (for a message-passing contender: sends it to the other process). */
  store(value: Value): void | Promise<void>;
  /**
   * The latest value, whole. A view into a buffer the contender reuses (its documented zero-copy read) is allowed:
   * it is valid until the next fetch.
   */
  fetch(): Value | Promise<Value>;
  /**
   * Returns the first value seen whose seq is at least `seq`, polling until `deadline` (performance.now() ms), then
   * throws. Optional: the default polls fetch(); a contender overrides it with its cheaper documented change check
   * (a serial or version number) or an event.
   */
  waitFor?(seq: number, deadline: number): Value | Promise<Value>;
  /** After a store loop: returns once the other process has every value stored so far (message contenders). */
  flush?(): void | Promise<void>;
  /** Releases this process's handle; in process A also removes what open() created. */
  close(): void | Promise<void>;
}

/** Unique names for what a contender creates: uniqueName/uniqueKey/uniquePath in tests, `shmbench-*` otherwise. */
export interface NameSource {
  /** A name for POSIX shm or a namespace. */
  name(): string;
  /** A SysV key with 255 free keys after it (IPC::ShareLite chains segments at key+1, key+2...). */
  key(): number;
  /** A path in the temp directory that does not exist yet. */
  path(): string;
}

/** JSON made by prepare() and handed to both processes. */
export type ContenderConfig = Record<string, unknown>;

/** What every contender has, whatever runs its two processes. */
export interface ContenderBase {
  /** Stable id used on the command line (`--only core-store,redis`) and in file names. */
  readonly id: string;
  /** What tables and the chart call it. */
  readonly label: string;
  /** How the contender was made as fast as its documentation allows, and what a store/fetch means for it. */
  readonly notes: string;
  /** Why this contender cannot carry `kind` honestly, or undefined when it can. */
  unsupported?(kind: PayloadKind): string | undefined;
  /** Runs once in the benchmark's main process before any run: starts servers, picks names and keys. */
  prepare?(names: NameSource, kinds: readonly PayloadKind[]): Promise<ContenderConfig> | ContenderConfig;
  /** Runs once in the main process after every run, also after a failure: stops servers, removes files. */
  cleanup?(config: ContenderConfig): Promise<void> | void;
  /** Versions of the software measured (for the machine description), e.g. { lmdb: '3.5.6' }. */
  versions?(): Record<string, string>;
}

/** The other process, as a contender's open() sees it: the forked child in A, `process` in B. */
export interface Link {
  send(message: unknown, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: any) => void): unknown;
  off(event: 'message', listener: (message: any) => void): unknown;
}

export interface OpenContext {
  /** 'a' creates (and removes at close), 'b' opens what A created. */
  role: 'a' | 'b';
  kind: PayloadKind;
  config: ContenderConfig;
  link: Link;
}

/** A contender whose two processes are Node processes: A is the driver process, B its forked child. */
export interface NodeContender extends ContenderBase {
  readonly runtime: 'node';
  /**
   * In process A: starts process B running `script` with `args` and `options` (IPC channel included). Default:
   * child_process.fork. A contender overrides it to hand B something at birth (an fd) or to pick the channel's
   * serialization. `kinds` are every payload kind B will open.
   */
  forkPeer?(
    script: string,
    args: string[],
    options: ForkOptions,
    config: ContenderConfig,
    kinds: readonly PayloadKind[],
  ): ChildProcess;
  open(ctx: OpenContext): Endpoint | Promise<Endpoint>;
}

/**
 * A contender written in another language: the driver starts two copies of `command` (A and B), each speaking the
 * side protocol (side-protocol.ts) as one JSON object per line on stdin and stdout.
 */
export interface ExternalContender extends ContenderBase {
  readonly runtime: 'external';
  command(config: ContenderConfig): { file: string; args: string[] };
}

export type Contender = NodeContender | ExternalContender;
