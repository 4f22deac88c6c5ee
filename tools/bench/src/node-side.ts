import type { Endpoint, Link, NodeContender } from './contender.js';
import { makeValue, type PayloadKind, toWire, type Value } from './payload.js';
import type { SideCommand, SideResult } from './side-protocol.js';
import { fetchLoop, pingLoop, pongLoop, storeLoop, waitFor } from './workloads.js';

/** One side (A or B) of a Node contender: runs the side protocol's commands over the contender's endpoints. */
export class NodeSide {
  readonly #contender: NodeContender;
  readonly #link: Link;
  readonly #endpoints = new Map<PayloadKind, Endpoint>();
  /** One value per kind, reused by every loop (a store loop only rewrites its seq). */
  readonly #values = new Map<PayloadKind, Value>();

  constructor(contender: NodeContender, link: Link) {
    this.#contender = contender;
    this.#link = link;
  }

  /**
   * Runs `c`; a `pong` calls `started` (and waits for it: it sends a message) before it begins waiting. Never
   * throws: failures are `{ ok: false, error }`.
   */
  async handle(c: SideCommand, started: () => void | Promise<void> = () => {}): Promise<SideResult> {
    try {
      return await this.#run(c, started);
    } catch (e) {
      return { ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
  }

  async #run(c: SideCommand, started: () => void | Promise<void>): Promise<SideResult> {
    if (c.cmd === 'exit') {
      for (const kind of [...this.#endpoints.keys()]) await this.#close(kind);
      return { ok: true };
    }
    if (c.cmd === 'open') {
      const ep = await this.#contender.open({
        role: c.role,
        kind: c.kind,
        config: c.config,
        link: this.#link,
      });
      this.#endpoints.set(c.kind, ep);
      this.#values.set(c.kind, makeValue(c.kind, 1));
      if (c.role === 'a') await ep.store(makeValue(c.kind, 1));
      return { ok: true };
    }
    const ep = this.#endpoints.get(c.kind);
    const value = this.#values.get(c.kind);
    if (!ep || !value) throw new Error(`${c.cmd} of ${c.kind} before open`);
    switch (c.cmd) {
      case 'store':
        return { ok: true, ...(await storeLoop(ep, value, c.ms, c.maxOps, c.seq0)) };
      case 'fetch':
        return { ok: true, ...(await fetchLoop(ep, c.kind, c.ms, c.maxOps)) };
      case 'ping':
        return { ok: true, ...(await pingLoop(ep, value, c.ms, c.maxOps, c.seq0)) };
      case 'pong': {
        await started(); // before the loop: a synchronous endpoint spins until A stores
        return { ok: true, ops: await pongLoop(ep, value, c.seq0) };
      }
      case 'put':
        await ep.store(makeValue(c.kind, c.seq));
        await ep.flush?.();
        return { ok: true };
      case 'get': {
        const v = c.seq === undefined ? await ep.fetch() : await waitFor(ep, c.seq);
        // A copy: a zero-copy read (lmdb's getBinaryFast) is a view of a buffer the contender reuses.
        return { ok: true, value: toWire(v instanceof Uint8Array ? Uint8Array.prototype.slice.call(v) : v) };
      }
      case 'close':
        await this.#close(c.kind);
        return { ok: true };
    }
  }

  async #close(kind: PayloadKind): Promise<void> {
    const ep = this.#endpoints.get(kind);
    this.#endpoints.delete(kind);
    this.#values.delete(kind);
    await ep?.close();
  }
}
