import { Region, ShmError, Store, sysv } from '@shm/core';
import { runFuzzDriver } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import { MmapShare } from '../src/index.js';
import { fixture, track } from './helpers.js';

// Store layout (packages/core/src/store-format.ts).
const H_PUB = 24;
const BANK0 = 64;
const BANK_BYTES = 256;
const DATA_OFFSET = 1664;
const D_LEN = 0;
const D_ALLOC = 16;
const D_SEGS = 32;

/** A private SysV segment standing for another program's data; removed by the caller. */
function victimSegment(): number {
  return sysv.shmget(0, 65536, sysv.sysvFlags({ create: true, exclusive: true, mode: 0o600 }));
}

function exists(shmid: number): boolean {
  try {
    sysv.shmStat(shmid);
    return true;
  } catch {
    return false;
  }
}

/** A second mapping of a share's memfd, to corrupt it with. */
function view(share: MmapShare): { region: Region; dv: DataView; bank: number } {
  const region = Region.fromFd(share.fd, { keepFd: true, register: false });
  const dv = new DataView(region.buffer);
  return { region, dv, bank: dv.getInt32(H_PUB, true) & 1 };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (!ShmError.isInstance(e)) throw e;
    return e.code;
  }
  return undefined;
}

describe('Corrupted shared memory: seeded fuzz', () => {
  it('every operation succeeds or throws ShmError, without hang or crash, and no foreign segment is touched', async () => {
    const victim = victimSegment();
    try {
      await runFuzzDriver(fixture('corrupt-share.ts'), { seed: 0x5eed0101, rounds: 2000, victim });
      expect(exists(victim)).toBe(true);
    } finally {
      if (exists(victim)) sysv.shmRemove(victim);
    }
  });
});

describe('Corrupted shared memory: hand-made cases', () => {
  it('a bank that lists a SysV segment: set() and close() never remove it (an anonymous share has no segments)', () => {
    const victim = victimSegment();
    try {
      const share = track(new MmapShare(1000));
      share.set({ a: 1 });
      const { region, dv } = view(share);
      for (const d of [BANK0, BANK0 + BANK_BYTES]) {
        dv.setUint32(d + D_ALLOC, 1, true);
        dv.setUint32(d + D_SEGS, victim, true);
        dv.setUint32(d + D_SEGS + 4, 65536, true);
      }
      region.close();
      share.set({ a: 2 }); // writes the other bank, trimming its list of segments
      share.set({ a: 3 });
      expect(share.get()).toEqual({ a: 3 });
      share.close();
      expect(exists(victim)).toBe(true);
    } finally {
      if (exists(victim)) sysv.shmRemove(victim);
    }
  });

  it('a length past the size: get() is ERR_SHM_BAD_FORMAT naming both, without sizing a buffer by it; set() recovers', () => {
    const share = track(new MmapShare(100));
    share.set('small');
    const { region, dv, bank } = view(share);
    const before = process.memoryUsage().arrayBuffers;
    for (const len of [101, 2 ** 31, 2 ** 32 - 1, 2 ** 40]) {
      dv.setUint32(BANK0 + bank * BANK_BYTES + D_LEN, len >>> 0, true);
      dv.setUint32(BANK0 + bank * BANK_BYTES + D_LEN + 4, Math.floor(len / 2 ** 32), true);
      let message = '';
      try {
        share.get();
      } catch (e) {
        expect(ShmError.isInstance(e) && e.code).toBe('ERR_SHM_BAD_FORMAT');
        message = (e as Error).message;
      }
      expect(message).toContain(`${len} bytes`);
      expect(message).toContain('100');
    }
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
    region.close();
    share.set('again');
    expect(share.get()).toBe('again');
  });

  it('bytes the serializer never wrote, or another serializer id: ERR_SHM_BAD_FORMAT or a mismatch, and set() recovers', () => {
    for (const serializer of ['v8', 'json', 'raw'] as const) {
      const share = track(new MmapShare(256, { serializer }));
      share.set('fine');
      const s = Store.fromFd(share.fd, { keepFd: true, register: false, serializer });
      s.store(new Uint8Array([0xff, 0x00, 0xfe]), s.serializerId);
      expect(
        code(() => share.get()),
        serializer,
      ).toBe('ERR_SHM_BAD_FORMAT');
      expect(code(() => share.update((v) => v))).toBe('ERR_SHM_BAD_FORMAT');
      s.store(new Uint8Array([1, 2]), s.serializerId + 1);
      expect(code(() => share.get())).toBe('ERR_SHM_SERIALIZER_MISMATCH');
      s.close();
      share.set('recovered');
      expect(share.get()).toBe('recovered');
    }
  });

  it("a corrupted header: adopting the share, as a child's inherited() does, is ERR_SHM_BAD_FORMAT", () => {
    const share = track(new MmapShare(64));
    share.set(1);
    const { region, bank } = view(share);
    for (const [at, byte] of [
      [0, 0x00], // magic
      [4, 0x09], // format version
      [8, 0x10], // data offset
      [13, 0x7f], // inline capacity past the end of the area
    ] as const) {
      const was = region.bytes[at]!;
      region.bytes[at] = byte;
      expect(
        code(() => MmapShare.fromWorkerData(share.transferable())),
        `byte ${at}`,
      ).toBe('ERR_SHM_BAD_FORMAT');
      region.bytes[at] = was;
    }
    // The value bytes themselves: v8 finds its version tag, then garbage.
    region.bytes.fill(0xee, DATA_OFFSET + bank * 64 + 2, DATA_OFFSET + bank * 64 + 8);
    region.close();
    const adopted = track(MmapShare.fromWorkerData(share.transferable()));
    expect(code(() => adopted.get())).toBe('ERR_SHM_BAD_FORMAT');
    expect(code(() => share.get())).toBe('ERR_SHM_BAD_FORMAT');
  });
});
