// The commands a store's operations send, over one node-redis connection: used by the worker thread (sync calls,
// waits, locks, invalidations) and by the calling thread's own connection (async reads and commits). Nothing here
// decodes values: it moves bytes, and checks what the server returned before trusting it.
import { createHash, randomBytes } from 'node:crypto';
import { RESP_TYPES } from 'redis';
import type { HandleInfo, WireError, WireValue } from './protocol.js';
import { SCRIPTS, type ScriptName } from './scripts.js';

/** Replies as Buffers, never decoded strings: values are bytes. */
export const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer } as const;

export const SHA = Object.fromEntries(
  Object.entries(SCRIPTS).map(([k, src]) => [k, createHash('sha1').update(src).digest('hex')]),
) as Record<ScriptName, string>;

/** An error made on either thread, sent across as a WireError (errorFromWire makes it a ShmError again). */
export class EngineError extends Error {
  code: string;
  target: string | undefined;
  errno: number | undefined;
  syscall: string | undefined;
  constructor(
    code: string,
    message: string,
    extra: { target?: string; errno?: number; syscall?: string } = {},
  ) {
    super(message);
    this.name = 'ShmError';
    this.code = code;
    this.target = extra.target;
    this.errno = extra.errno;
    this.syscall = extra.syscall;
  }
}

export function wire(e: unknown): WireError {
  if (e instanceof EngineError) {
    return {
      name: e.name,
      message: e.message,
      code: e.code,
      ...(e.target !== undefined ? { target: e.target } : {}),
      ...(e.errno !== undefined ? { errno: e.errno, syscall: e.syscall ?? '' } : {}),
    };
  }
  const err = e as Error;
  if (err?.name === 'TypeError' || err?.name === 'RangeError')
    return { name: err.name, message: err.message };
  return { name: err?.name ?? 'Error', message: err?.message ?? String(e), code: 'ERR_SHM_REDIS' };
}

function describe(args: readonly (string | Buffer)[]): string {
  const name = String(args[0]);
  if (name === 'EVALSHA' || name === 'EVAL') {
    const script = Object.entries(SHA).find(([, sha]) => sha === String(args[1]))?.[0];
    return `${name} (${script ?? 'script'}) ${String(args[3] ?? '')}`;
  }
  return `${name} ${args.length > 1 ? String(args[1]).slice(0, 200) : ''}`.trim();
}

/** What the engine needs of a node-redis client. */
export interface Sender {
  sendCommand(args: (string | Buffer)[], options?: object): Promise<unknown>;
}

export const str = (x: unknown): string => (x === null || x === undefined ? '' : String(x));
export const num = (x: unknown): number => Number(str(x));

const NO_PARTS = Object.freeze({ n: 0, gen: '' });

/** What one attempt of the commit script did. */
export type CommitOutcome =
  | { kind: 'committed'; serial: number }
  | { kind: 'conflict'; current: WireValue | undefined }
  | { kind: 'busy'; ms: number };

/** A command sent and not answered yet, in the order sent (the order of the replies). */
interface InFlight {
  deadline: number;
  args: (string | Buffer)[];
  reject(e: Error): void;
  done: boolean;
  next: InFlight | undefined;
}

/** The commands of the store operations on one connection, with its timeout and error translation. */
export class Engine {
  readonly #client: Sender;
  readonly label: string;
  readonly timeoutMs: number;
  readonly #connected: () => boolean;
  readonly #options: object;
  #first: InFlight | undefined;
  #last: InFlight | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(client: Sender, label: string, timeoutMs: number, connected: () => boolean) {
    this.#client = client;
    this.label = label;
    this.timeoutMs = timeoutMs;
    this.#connected = connected;
    // node-redis's timeout covers a command until it is written (the offline queue while reconnecting); once it is
    // written, the watchdog below times it out. (node-redis's rejectInFlight does the same with a timer per command,
    // which costs about 4 µs a command here: a seventh of a round trip.)
    this.#options = { typeMapping: BUFFERS, timeout: timeoutMs };
  }

  /** One command, with the connection's timeout; errors become EngineErrors naming the server and the command. */
  command<T = any>(args: (string | Buffer)[]): Promise<T> {
    const sent = this.#client.sendCommand(args, this.#options) as Promise<T>;
    return new Promise<T>((resolve, reject) => {
      const f: InFlight = {
        deadline: performance.now() + this.timeoutMs,
        args,
        reject,
        done: false,
        next: undefined,
      };
      if (this.#last) this.#last.next = f;
      else this.#first = f;
      this.#last = f;
      this.#watch();
      sent.then(
        (v) => {
          this.#settled(f);
          resolve(v);
        },
        (e) => {
          this.#settled(f);
          reject(this.translate(e, describe(args)));
        },
      );
    });
  }

  #settled(f: InFlight) {
    f.done = true;
    if (f !== this.#first) return;
    let x: InFlight | undefined = f;
    while (x?.done) x = x.next;
    this.#first = x;
    if (!x) this.#last = undefined;
  }

  /** Checks the oldest command in flight a few times per timeout: past its deadline, it and those after it fail. */
  #watch() {
    if (this.#watchdog) return;
    this.#watchdog = setInterval(
      () => {
        while (this.#first?.done) this.#first = this.#first.next;
        if (!this.#first) {
          this.#last = undefined;
          clearInterval(this.#watchdog);
          this.#watchdog = undefined;
          return;
        }
        const now = performance.now();
        if (this.#first.deadline > now) return;
        // The server does not answer (paused, or the network is gone): every command sent by then is late.
        for (let f: InFlight | undefined = this.#first; f; f = f.next) {
          if (f.done || f.deadline > now) continue;
          f.done = true;
          f.reject(this.translate(new Error('timed out'), describe(f.args)));
        }
      },
      Math.max(10, Math.min(1000, Math.floor(this.timeoutMs / 8))),
    );
    this.#watchdog.unref();
  }

  translate(e: unknown, what: string): EngineError {
    if (e instanceof EngineError) return e;
    const err = e as Error & { code?: string; errno?: number };
    const name = err?.name ?? '';
    const msg = err?.message ?? String(e);
    const label = this.label;
    if (/Timeout/i.test(name) || /timed? ?out/i.test(msg)) {
      return new EngineError(
        'ERR_SHM_TIMEOUT',
        `${label} did not answer ${what} within ${this.timeoutMs} ms${this.#connected() ? '' : ' (the connection is down)'} (a write may have been applied anyway)`,
        { target: label },
      );
    }
    if (/closed|ClientClosed|disconnect|offline/i.test(name + msg) || !this.#connected()) {
      return new EngineError('ERR_SHM_UNREACHABLE', `${label} is unreachable (${what}): ${msg}`, {
        target: label,
      });
    }
    return new EngineError('ERR_SHM_REDIS', `${label} refused ${what}: ${msg}`, { target: label });
  }

  /** Runs a script by SHA, loading it when the server does not know it (after a restart, or the first time). */
  script<T = any>(name: ScriptName, keys: string[], argv: (string | Buffer)[]): Promise<T> {
    const args: (string | Buffer)[] = ['EVALSHA', SHA[name], String(keys.length)];
    for (const k of keys) args.push(k);
    for (const a of argv) args.push(a);
    return this.command<T>(args).catch((e) => {
      if (!(e instanceof EngineError) || !/NOSCRIPT/.test(e.message)) throw e;
      args[0] = 'EVAL';
      args[1] = SCRIPTS[name];
      return this.command<T>(args);
    });
  }

  /**
   * A script and then `after`, sent back to back (one round trip): `after` runs on the server right after the
   * script, also when the script had to be loaded first. Both replies; the script's error, if any, wins.
   */
  async scriptThen<T = any, U = any>(
    name: ScriptName,
    keys: string[],
    argv: (string | Buffer)[],
    after: string[],
  ): Promise<[T, U]> {
    const tail = [String(keys.length), ...keys, ...argv];
    const first = this.command<T>(['EVALSHA', SHA[name], ...tail]);
    const then = this.command<U>(after);
    try {
      return [await first, await then];
    } catch (e) {
      await then.catch(() => {});
      if (!(e instanceof EngineError) || !/NOSCRIPT/.test(e.message)) throw e;
      const again = this.command<T>(['EVAL', SCRIPTS[name], ...tail]);
      const thenAgain = this.command<U>(after);
      try {
        return [await again, await thenAgain];
      } catch (e2) {
        await thenAgain.catch(() => {});
        throw e2;
      }
    }
  }

  lostError(h: HandleInfo, why: 'missing' | 'replaced'): EngineError {
    return new EngineError(
      'ERR_SHM_NOT_FOUND',
      why === 'missing'
        ? `Store '${h.name}' is gone from ${this.label}: the server lost it (restarted without persistence, flushed or evicted it) or another process destroyed it; its last value is not served from a stale copy`
        : `Store '${h.name}' on ${this.label} was destroyed and created again by another process since this handle opened it; open it again to use the new one`,
      { target: h.name },
    );
  }

  /** The value described by a READ/COMMIT reply tail {s, z, n, g, len, v}, its parts fetched if it has any. */
  async wireValue(h: HandleInfo, t: Buffer[]): Promise<WireValue | undefined> {
    const serial = num(t[0]);
    const sid = num(t[1]);
    const n = num(t[2]);
    const len = num(t[4]);
    if (
      !Number.isSafeInteger(serial) ||
      serial < 0 ||
      !Number.isSafeInteger(sid) ||
      !Number.isSafeInteger(n) ||
      n < 0 ||
      !Number.isSafeInteger(len) ||
      len < 0
    ) {
      throw new EngineError('ERR_SHM_BAD_FORMAT', `Store '${h.name}' on ${this.label} has a corrupt head`, {
        target: h.name,
      });
    }
    if (n === 0) {
      const v = (t[5] as Buffer | undefined) ?? Buffer.alloc(0);
      if (v.byteLength !== len) {
        throw new EngineError(
          'ERR_SHM_BAD_FORMAT',
          `Store '${h.name}' on ${this.label} is corrupt: its head says ${len} bytes and holds ${v.byteLength}`,
          { target: h.name },
        );
      }
      return { serial, sid, bytes: v };
    }
    const gen = str(t[3]);
    const parts = await Promise.all(
      Array.from({ length: n }, (_, i) => this.command<Buffer | null>(['GET', `${h.parts}${gen}:${i}`])),
    );
    // A commit after the head was read removed this generation: the caller reads again.
    if (parts.some((p) => p === null)) return undefined;
    let total = 0;
    for (const p of parts as Buffer[]) total += p.byteLength;
    if (total !== len) {
      throw new EngineError(
        'ERR_SHM_BAD_FORMAT',
        `Store '${h.name}' on ${this.label} is corrupt: its ${n} parts do not hold the ${len} bytes its head says`,
        { target: h.name },
      );
    }
    const out = Buffer.allocUnsafe(len);
    let off = 0;
    for (const p of parts as Buffer[]) {
      out.set(p, off);
      off += p.byteLength;
    }
    return { serial, sid, bytes: out };
  }

  /**
   * One READ: the value, or `{ serial }` alone when it is the serial the caller knows, or undefined when a commit
   * overtook the read of its parts (read again).
   */
  async read(
    h: HandleInfo,
    known: number,
  ): Promise<{ serial: number; value?: WireValue | undefined } | undefined> {
    const r = await this.script<Buffer[]>('READ', [h.head], [h.id, String(known)]);
    const st = num(r[0]);
    if (st === 0) throw this.lostError(h, 'missing');
    if (st === 1) throw this.lostError(h, 'replaced');
    if (st === 2) return { serial: num(r[1]) };
    const value = await this.wireValue(h, r.slice(1));
    return value ? { serial: value.serial, value } : undefined;
  }

  /** Writes a value larger than the part size as parts (expiring in an hour until a commit publishes them). */
  writeParts(h: HandleInfo, bytes: Buffer): { n: number; gen: string } | Promise<{ n: number; gen: string }> {
    if (bytes.byteLength <= h.partSize) return NO_PARTS;
    return this.#writeParts(h, bytes);
  }

  async #writeParts(h: HandleInfo, bytes: Buffer): Promise<{ n: number; gen: string }> {
    const gen = randomBytes(8).toString('hex');
    const n = Math.ceil(bytes.byteLength / h.partSize);
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        this.command([
          'SET',
          `${h.parts}${gen}:${i}`,
          bytes.subarray(i * h.partSize, Math.min(bytes.byteLength, (i + 1) * h.partSize)),
          'PX',
          '3600000',
        ]),
      ),
    );
    return { n, gen };
  }

  /** The commit script's arguments. */
  commitArgs(
    h: HandleInfo,
    bytes: Buffer,
    sid: number,
    expect: number,
    token: string,
    parts: { n: number; gen: string },
  ): (string | Buffer)[] {
    return [
      h.id,
      expect >= 0 ? String(expect) : '',
      token,
      h.holder,
      String(sid),
      String(parts.n),
      parts.gen,
      String(bytes.byteLength),
      parts.n === 0 ? bytes : '',
      h.parts,
    ];
  }

  /** What the commit script answered, checked; the current value fetched on a serial conflict. */
  commitOutcome(h: HandleInfo, r: Buffer[], token: string): CommitOutcome | Promise<CommitOutcome> {
    const st = num(r[0]);
    if (st === 0) throw this.lostError(h, 'missing');
    if (st === 1) throw this.lostError(h, 'replaced');
    if (st === 4) {
      throw new EngineError(
        'ERR_SHM_LEASE_EXPIRED',
        `Commit to '${h.name}' refused by ${this.label}: fencing token ${token} is stale (its lease ended${
          str(r[1]) && str(r[1]) !== token ? `; the lock's current token is ${str(r[1])}` : ''
        }); nothing was written`,
        { target: h.name },
      );
    }
    if (st === 5) return { kind: 'busy', ms: num(r[1]) };
    if (st === 6) return this.wireValue(h, r.slice(1)).then((current) => ({ kind: 'conflict', current }));
    if (st === 7) {
      const serial = num(r[1]);
      if (Number.isSafeInteger(serial) && serial > 0) return { kind: 'committed', serial };
    }
    throw new EngineError(
      'ERR_SHM_BAD_FORMAT',
      `${this.label} answered the commit to '${h.name}' with ${JSON.stringify(r.map(String))}`,
      { target: h.name },
    );
  }
}
