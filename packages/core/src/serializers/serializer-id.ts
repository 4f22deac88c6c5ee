import { expected } from '@shm/native';
import type { Serializer } from '../serializer.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/**
 * The 32-bit id recorded with every value: `s.id` when set, else the FNV-1a hash of the UTF-8 bytes of `s.name`
 * (unsigned, never 0, so 0 can mean "no serializer" in a header). Stable across processes, versions and platforms.
 * @throws RangeError when `s.id` is set but is not an integer in 1..0xffffffff.
 */
export function serializerId(s: Pick<Serializer, 'name' | 'id'>): number {
  if (typeof s !== 'object' || s === null || typeof s.name !== 'string')
    throw expected('a serializer (an object with a name)', 'serializer', s);
  if (s.id !== undefined) {
    if (!Number.isInteger(s.id) || s.id < 1 || s.id > 0xffffffff) {
      throw new RangeError(
        `Expected an integer in 1..0xffffffff for serializer.id but received ${String(s.id)}`,
      );
    }
    return s.id;
  }
  return nameHash(s.name);
}

/** FNV-1a over UTF-8; a 0 result (1 in 2^32 names) is mapped to 1. */
export function nameHash(name: string): number {
  let h = FNV_OFFSET;
  for (const byte of encoder.encode(name)) h = Math.imul(h ^ byte, FNV_PRIME);
  return h >>> 0 || 1;
}
