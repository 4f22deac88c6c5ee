import { type ChildProcess, fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ContenderConfig } from './contender.js';
import { contenderById } from './contenders/index.js';
import { NodeSide } from './node-side.js';
import type { PayloadKind, WireValue } from './payload.js';
import { inProcessSide, ipcSide, type SideCtl, stdioSide } from './side-ctl.js';
import type { SideCommand, SideResult } from './side-protocol.js';

export const WORKLOADS = ['store', 'fetch', 'latency'] as const;
export type Workload = (typeof WORKLOADS)[number];

/** What one driver process measures: one contender, its payload kinds, its workloads. */
export interface Plan {
  contender: string;
  config: ContenderConfig;
  kinds: PayloadKind[];
  workloads: Workload[];
  /** Milliseconds each timed loop measures (after a warm-up of a fifth of that). */
  ms: number;
  /** Caps each loop at this many operations and skips the warm-up (a check, not a measurement). */
  maxOps?: number;
  /** Also store in each process and fetch in the other, and report what was fetched. */
  verify: boolean;
}

/** One cell's figures: store and fetch in operations per second, latency in microseconds one way. */
export type Figures = Partial<Record<Workload, number>>;

export interface PairResult {
  cells: Partial<Record<PayloadKind, Figures>>;
  /** With `verify`: makeValue(kind, 101) stored by A as B fetched it, makeValue(kind, 202) stored by B as A did. */
  checks: Partial<Record<PayloadKind, { seenByB: WireValue; seenByA: WireValue }>>;
}

export const PEER_SCRIPT = fileURLToPath(new URL('./peer.ts', import.meta.url));
export const NODE_SOURCE_ARGS = ['--conditions=@shm/source', '--import', 'tsx'];

/**
 * Runs `plan` with two processes: for a Node contender this process is A and B is its forked child; for an
 * external one both are children. Every side is told to exit (and killed if it does not) before returning.
 */
export async function runPair(plan: Plan): Promise<PairResult> {
  const contender = contenderById(plan.contender);
  const children: ChildProcess[] = [];
  let a: SideCtl | undefined;
  let b: SideCtl | undefined;
  try {
    if (contender.runtime === 'node') {
      const options = { execArgv: NODE_SOURCE_ARGS };
      const child = contender.forkPeer
        ? contender.forkPeer(PEER_SCRIPT, [contender.id], options, plan.config, plan.kinds)
        : fork(PEER_SCRIPT, [contender.id], options);
      children.push(child);
      a = inProcessSide(new NodeSide(contender, child));
      b = await ipcSide(child);
    } else {
      const { file, args } = contender.command(plan.config);
      const start = (role: string) => {
        const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
        children.push(child);
        return stdioSide(child, `${contender.id} process ${role}`);
      };
      a = start('A');
      b = start('B');
    }
    return await measure(plan, a, b);
  } finally {
    // B first: A removes what both used.
    await b?.exit(10_000);
    await a?.exit(10_000);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

async function measure(plan: Plan, a: SideCtl, b: SideCtl): Promise<PairResult> {
  const result: PairResult = { cells: {}, checks: {} };
  let nextSeq = 1000;
  const seq0 = () => {
    const s = nextSeq;
    nextSeq += 1 << 24; // more than any loop stores
    return s;
  };
  const run = async (side: SideCtl, role: string, c: SideCommand, onStarted?: () => void) => {
    const r = await side.run(c, onStarted);
    if (!r.ok) throw new Error(`${plan.contender}: process ${role}, ${JSON.stringify(c)}: ${r.error}`);
    return r;
  };
  const timing = { ms: plan.ms, maxOps: plan.maxOps };
  const perSec = (r: SideResult) => (r.ops! * 1000) / r.ms!;

  for (const kind of plan.kinds) {
    const config = plan.config;
    await run(a, 'A', { cmd: 'open', kind, role: 'a', config });
    await run(b, 'B', { cmd: 'open', kind, role: 'b', config });
    const cell: Figures = {};
    if (plan.verify) {
      // Each side waits to see the other's value as the hand-off does (a copy invalidated by the other's store
      // may answer until the invalidation arrived); what it then fetched must be that value, whole.
      await run(a, 'A', { cmd: 'put', kind, seq: 101 });
      const seenByB = (await run(b, 'B', { cmd: 'get', kind, seq: 101 })).value!;
      await run(b, 'B', { cmd: 'put', kind, seq: 202 });
      const seenByA = (await run(a, 'A', { cmd: 'get', kind, seq: 202 })).value!;
      result.checks[kind] = { seenByB, seenByA };
    }
    if (plan.workloads.includes('store')) {
      cell.store = perSec(await run(a, 'A', { cmd: 'store', kind, seq0: seq0(), ...timing }));
    }
    if (plan.workloads.includes('fetch')) {
      cell.fetch = perSec(await run(b, 'B', { cmd: 'fetch', kind, ...timing }));
    }
    if (plan.workloads.includes('latency')) {
      const s = seq0();
      let started!: () => void;
      const waiting = new Promise<void>((r) => (started = r));
      const pong = run(b, 'B', { cmd: 'pong', kind, seq0: s }, started);
      await Promise.race([waiting, pong]);
      const ping = await run(a, 'A', { cmd: 'ping', kind, seq0: s, ...timing });
      const trips = (await pong).ops!;
      if (trips < ping.ops!)
        throw new Error(`${plan.contender}: B answered ${trips} of ${ping.ops} round trips`);
      cell.latency = (ping.ms! * 1000) / ping.ops! / 2; // µs, half a round trip
    }
    result.cells[kind] = cell;
    await run(b, 'B', { cmd: 'close', kind });
    await run(a, 'A', { cmd: 'close', kind });
  }
  return result;
}
