import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A redis-server this process started, bound to 127.0.0.1, without persistence (unless asked for). */
export interface RedisServer {
  port: number;
  dir: string;
  child: ChildProcess;
  /** redis://127.0.0.1:<port> */
  url: string;
  /** The extra arguments it was started with (restartRedis() starts it again with them). */
  args: string[];
}

function commandOutput(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'missing';
  }
}

const running = new Set<RedisServer>();
let hooked = false;

/** Whatever happens to this process (an exception, Ctrl-C), the servers it started go with it. */
function killServersOnExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const s of running) s.child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** The redis-server binary's version, or undefined when it is not installed. */
export function redisVersion(): string | undefined {
  const out = commandOutput('redis-server', ['--version']);
  return out === 'missing' ? undefined : (/v=(\S+)/.exec(out)?.[1] ?? out);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let got = '';
    sock.once('error', () => resolve(false));
    sock.on('data', (d) => {
      got += String(d);
      if (got.includes('\r\n')) {
        sock.destroy();
        resolve(got.startsWith('+PONG'));
      }
    });
    sock.once('connect', () => sock.write('PING\r\n'));
  });
}

/**
 * Starts redis-server on a free port of 127.0.0.1 with no persistence (no RDB snapshots, no AOF) and its working
 * directory in `dir` (default: a new temporary directory), and waits until it answers PING. `extraArgs` are more
 * redis-server options (`['--proto-max-bulk-len', '1mb']`). The server is killed when this process exits.
 * @throws Error when redis-server is not installed or does not come up within 20 s.
 */
export async function startRedis(dir?: string, extraArgs: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const d = dir ?? mkdtempSync(join(tmpdir(), 'shmtest-redis-'));
  return launch({ port, dir: d, args: extraArgs });
}

async function launch(o: { port: number; dir: string; args: string[] }): Promise<RedisServer> {
  if (!redisVersion()) {
    throw new Error(
      'redis-server is not installed: run `bash tools/scripts/bootstrap.sh` as root (or apt-get install redis-server)',
    );
  }
  killServersOnExit();
  const { port, dir } = o;
  mkdirSync(dir, { recursive: true });
  const base = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn(
    'redis-server',
    [...base, '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning', ...o.args],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const server: RedisServer = { port, dir, child, url: `redis://127.0.0.1:${port}`, args: o.args };
  running.add(server);
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const deadline = performance.now() + 20_000;
  while (!(await ping(port))) {
    if (child.exitCode !== null || performance.now() > deadline) {
      await stopRedis(server);
      throw new Error(
        `redis-server did not start on port ${port}: ${stderr.trim() || `exit ${child.exitCode}`}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return server;
}

async function kill(server: RedisServer, signal: NodeJS.Signals): Promise<void> {
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGCONT'); // a paused server cannot handle SIGTERM
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  running.delete(server);
}

/** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its directory. */
export async function stopRedis(server: RedisServer): Promise<void> {
  await kill(server, 'SIGTERM');
  rmSync(server.dir, { recursive: true, force: true });
}

/**
 * Kills the server (SIGKILL: nothing is saved) and starts a new one on the same port and directory with the same
 * arguments: a crash and restart without persistence. Returns the new server (the old object is dead).
 */
export async function restartRedis(server: RedisServer): Promise<RedisServer> {
  await kill(server, 'SIGKILL');
  return launch({ port: server.port, dir: server.dir, args: server.args });
}

/** The server started for a port, for cleanup by port number. */
export function serverOnPort(port: number): RedisServer | undefined {
  for (const s of running) if (s.port === port) return s;
  return undefined;
}
