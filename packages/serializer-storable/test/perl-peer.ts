// A long-lived test/fixtures/storable-peer.pl: one perl for thousands of structures, spoken to in tab-separated
// lines (see the peer's header).
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./fixtures/storable-peer.pl', import.meta.url));

export class StorablePeer {
  readonly child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiting: ((line: string) => void)[] = [];
  readonly #rl: Interface;
  #stderr = '';
  #exited = false;

  constructor() {
    this.child = spawn('perl', [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#rl = createInterface({ input: this.child.stdout! });
    this.#rl.on('line', (l) => {
      const w = this.#waiting.shift();
      if (w) w(l);
      else this.#lines.push(l);
    });
    this.child.stderr!.on('data', (d) => {
      this.#stderr += d;
    });
    this.child.on('exit', () => {
      this.#exited = true;
      for (const w of this.#waiting.splice(0)) w(`X\tperl exited: ${this.#stderr}`);
    });
  }

  send(...fields: (string | number)[]): void {
    this.child.stdin!.write(`${fields.join('\t')}\n`);
  }

  /** The next line from perl (split at tabs). */
  next(): Promise<string[]> {
    const l = this.#lines.shift();
    if (l !== undefined) return Promise.resolve(l.split('\t'));
    if (this.#exited) return Promise.resolve(['X', `perl exited: ${this.#stderr}`]);
    return new Promise((resolve) => this.#waiting.push((line) => resolve(line.split('\t'))));
  }

  /** Lines up to (not including) the next "E" line. */
  async batch(): Promise<string[][]> {
    const out: string[][] = [];
    for (;;) {
      const f = await this.next();
      if (f[0] === 'E') return out;
      if (f[0] === 'X') throw new Error(f[1]);
      out.push(f);
    }
  }

  /** Perl's strict canonical form of thaw(image), or its error. */
  async canon(image: Uint8Array): Promise<{ canon?: string; error?: string }> {
    this.send('canon', Buffer.from(image).toString('base64'));
    const f = await this.next();
    return f[0] === 'K' ? { canon: f[1] } : { error: f[1] };
  }

  /**
   * Runs Perl code in the peer and returns what it returns, as bytes (a Perl byte string). With `image`, the
   * code sees it as `$img` and thawed as `$v`. Throws Perl's error.
   */
  async evalBytes(code: string, image?: Uint8Array): Promise<Buffer> {
    const args = ['eval', Buffer.from(code, 'utf8').toString('base64')];
    if (image) args.push(Buffer.from(image.buffer, image.byteOffset, image.byteLength).toString('base64'));
    this.send(...args);
    const f = await this.next();
    if (f[0] !== 'R') throw new Error(`perl: ${f[1]}`);
    return Buffer.from(f[1]!, 'base64');
  }

  /** evalBytes, as text (the code should return ASCII or encode its result). */
  async eval(code: string, image?: Uint8Array): Promise<string> {
    return (await this.evalBytes(code, image)).toString('latin1');
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.send('quit');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    this.#rl.close();
  }
}
