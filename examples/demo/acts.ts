// The first three acts of the demonstration: @shm/tied, @shm/mmap-share and @shm/sharelite with a real Perl peer.
import { type ChildProcess, execFileSync, fork, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MmapShare } from '@shm/mmap-share';
import { ShareLite } from '@shm/sharelite';
import { removeAll, tie } from '@shm/tied';

export const c = { dim: '\x1b[2m', bold: '\x1b[1m', green: '\x1b[32m', red: '\x1b[31m', off: '\x1b[0m' };
export const log = (who: string, msg: string) => console.log(`${c.dim}${who.padEnd(9)}${c.off} ${msg}`);
export const act = (title: string) => console.log(`\n${c.bold}== ${title}${c.off}`);

const child = fileURLToPath(new URL('./child.ts', import.meta.url));
const execArgv = ['--conditions=@shm/source', '--import', 'tsx'];

function finished(children: ChildProcess[], who: string): Promise<void> {
  return new Promise((resolve) => {
    let left = children.length;
    for (const ch of children) {
      ch.on('message', (m) => log(who, String(m)));
      ch.on('exit', () => --left === 0 && resolve());
    }
  });
}

export async function tiedAct(): Promise<boolean> {
  act('@shm/tied: a shared object, as simple as a variable (IPC::Shm, Win32::MMF::Shareable)');
  const namespace = `shm-demo-${process.pid}`;
  const cfg = tie({}, 'config', { namespace }) as { hits?: number; db?: { port: number } };
  cfg.db = { port: 5432 };
  log('primary', `tie({}, 'config') and cfg.db = { port: 5432 }; forking 2 children that tie the same name`);
  const kids = [0, 1].map((i) =>
    fork(child, ['tied', namespace], { execArgv, env: { ...process.env, DEMO_CHILD: String(i) } }),
  );
  await finished(kids, 'child');
  const ok = cfg.hits === 1000 && cfg.db.port === 6543;
  log('primary', `${ok ? c.green : c.red}reads cfg.hits = ${cfg.hits}, cfg.db.port = ${cfg.db.port}${c.off}`);
  removeAll({ namespace });
  return ok;
}

export async function mmapAct(): Promise<boolean> {
  act('@shm/mmap-share: an anonymous area handed to children (IPC::Mmap::Share)');
  const share = new MmapShare(4096);
  share.set({ count: 0 });
  log('primary', 'new MmapShare(4096), set({ count: 0 }), share.fork() x 3');
  const kids = [0, 1, 2].map(() => share.fork(child, ['mmap'], { execArgv }));
  await finished(kids, 'child');
  const v = share.get<{ count: number }>()!;
  const ok = v.count === 900;
  log(
    'primary',
    `${ok ? c.green : c.red}get() = ${JSON.stringify(v)}${c.off} (memory freed when the last process exits)`,
  );
  share.close();
  return ok;
}

export function shareliteAct(): boolean {
  act('@shm/sharelite: the same bytes and locks as a real Perl IPC::ShareLite');
  if (spawnSync('perl', ['-MIPC::ShareLite', '-e1']).status !== 0) {
    log(
      'primary',
      `${c.red}skipped: the Perl module IPC::ShareLite is not installed (npm run demo installs it as root)${c.off}`,
    );
    return false;
  }
  const key = 0x5d000000 + (process.pid % 0xffff) * 256;
  const share = new ShareLite({ key, create: true, destroy: true });
  share.store(`hello from Node ${process.pid}`);
  log('primary', `new ShareLite({ key: ${key} }) and store('hello from Node ...'); running perl`);
  const perl = `use IPC::ShareLite; my $s = IPC::ShareLite->new(-key => ${key}) or die $!;
    my $got = $s->fetch; $s->store("perl $$ read [$got] and replies, version " . $s->version); print $got;`;
  const out = execFileSync('perl', ['-e', perl], { encoding: 'utf8' });
  log('perl', `fetched "${out}"`);
  const reply = share.fetch().toString();
  const ok = reply.includes(`read [${out}]`);
  log('primary', `${ok ? c.green : c.red}fetch() = "${reply}"${c.off}`);
  share.destroy();
  return ok;
}
