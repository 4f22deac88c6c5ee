// The Node half of the canonical form that test/fixtures/storable-peer.pl prints for the values Perl thaws: equal
// strings mean the same structure, values, classes and sharing (see the peer's header for the grammar).
import { blessed, PerlRef } from '../src/index.js';

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
const d = Buffer.alloc(8);

/**
 * The canonical text of a decoded value. `strict`: Buffers (byte strings in byteStrings 'buffer') are B<hex> and
 * strings U<hex>; otherwise every string is S<hex of its UTF-8>. The root is a reference, as thaw returns one:
 * a plain scalar at the root stands for the reference to it (decode unwraps that one reference).
 */
export function canonical(value: unknown, strict: boolean): string {
  const ids = new Map<object, number>();
  let next = 0;
  const val = (v: unknown): string => {
    if (v === null || v === undefined) return 'U';
    if (v === true) return 'T';
    if (v === false) return 'F';
    if (typeof v === 'number') {
      if (Number.isNaN(v)) return 'DNaN';
      d.writeDoubleBE(v);
      return `D${d.toString('hex')}`;
    }
    if (typeof v === 'bigint') return `I${v}`;
    // Empty: Perl's thaw drops the UTF-8 flag of an empty string, so the flag is not part of the form.
    if (typeof v === 'string') return v === '' ? (strict ? 'E' : 'S') : `${strict ? 'U' : 'S'}${hex(v)}`;
    if (v instanceof Uint8Array) {
      const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      if (b.length === 0) return strict ? 'E' : 'S';
      return strict ? `B${b.toString('hex')}` : `S${hex(b.toString('latin1'))}`;
    }
    return `R${ref(v as object)}`;
  };
  const ref = (x: object): string => {
    const seen = ids.get(x);
    if (seen !== undefined) return `@${seen}`;
    const id = next++;
    ids.set(x, id);
    let s = `#${id}`;
    const c = blessed(x);
    if (c !== undefined) s += `b${hex(c)};`;
    if (Array.isArray(x)) return `${s}[${x.map(val).join(',')}]`;
    if (x instanceof PerlRef) return `${s}$${val(x.value)}`;
    const keys = Object.keys(x)
      .map((k) => [k, hex(k)] as const)
      .sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    return `${s}{${keys.map(([k, h]) => `K${h}:${val((x as any)[k])}`).join(',')}}`;
  };
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) return val(value);
  next = 1;
  return `R#0$${val(value)}`;
}
