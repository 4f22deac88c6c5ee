import { createHash } from 'node:crypto';

const blocks = new Map<number, Buffer>();

/** The test value: byte i is ((i mod 251) * 7 + seed) mod 256, as perl-peer.pl builds it. */
export function pattern(len: number, seed = 0): Buffer {
  let block = blocks.get(seed);
  if (!block) {
    block = Buffer.alloc(251);
    for (let i = 0; i < 251; i++) block[i] = (i * 7 + seed) % 256;
    blocks.set(seed, block);
  }
  const b = Buffer.allocUnsafe(len);
  if (len > 0) b.fill(block);
  return b;
}

export function md5(b: Uint8Array): string {
  return createHash('md5').update(b).digest('hex');
}
