// @shm/core's RwLock on Windows: the same CAS and liveness protocol as on Linux, sleeping on named events instead of
// a futex. Two processes contend, sleepers are woken by the event (not by their poll), and dead holders are taken over.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { core, native, spawnPeer, uniqueName } from './helpers.mjs';

const { Region, RwLock, LockStatus, LOCK_BYTES } = core;
const peerFixture = new URL('./fixtures/peer.mjs', import.meta.url);
const OFFSET = 64;
const COUNTER = 0;
after(() => assert.equal(native.win32OpenHandles(), 0, 'every event was closed with its region'));

function lockRegion() {
  const name = uniqueName('lock');
  const region = Region.create({ name, size: OFFSET + LOCK_BYTES });
  RwLock.init(region, OFFSET);
  return { name, region };
}

/**
 * Runs `body` with this process's RwLock (`lockOptions`) and a peer that opened the same lock region; closes both
 * afterwards, also when `body` throws.
 */
async function withPeer(lockOptions, body) {
  const { name, region } = lockRegion();
  const mine = new RwLock(region, OFFSET, lockOptions);
  const peer = spawnPeer(peerFixture);
  try {
    await peer.ready;
    await peer.call('openRegion', { key: 'l', name });
    await body({ mine, peer });
  } finally {
    mine.release();
    await peer.kill();
    region.close();
  }
}

/** Has the peer take the lock (`exclusive` or `shared`) and keep it; asserts that it got it. */
async function peerHolds(peer, mode) {
  assert.equal(await peer.call('hold', { key: 'l', offset: OFFSET, mode }), LockStatus.Acquired);
}

describe('RwLock between processes on Windows', () => {
  it('keeps 2 processes x 300 read-modify-writes exact, one waiting sync and one async', async () => {
    const { name, region } = lockRegion();
    const a = spawnPeer(peerFixture);
    const b = spawnPeer(peerFixture);
    try {
      await Promise.all([a.ready, b.ready]);
      await Promise.all([a.call('openRegion', { key: 'l', name }), b.call('openRegion', { key: 'l', name })]);
      const args = {
        key: 'l',
        offset: OFFSET,
        counter: COUNTER,
        times: 300,
        holdUs: 50,
        startAt: Date.now() + 500,
      };
      const [sa, sb] = await Promise.all([
        a.call('lockIncr', { ...args, useAsync: false }),
        b.call('lockIncr', { ...args, useAsync: true }),
      ]);
      assert.equal(
        region.i32[COUNTER >> 2],
        600,
        `exact (contended ${sa.contended} + ${sb.contended} times)`,
      );
      const state = new RwLock(region, OFFSET).state();
      assert.equal(state.exclusiveOwner, 0, 'free at the end');
      assert.equal(state.waiters, 0, 'nobody left sleeping');
    } finally {
      await Promise.all([a.kill(), b.kill()]);
      region.close();
    }
  });

  it('wakes a waiter through the event on unlock, long before its 60 s poll (async here, sync in the peer)', async () => {
    await withPeer({ pollMs: 60_000 }, async ({ mine, peer }) => {
      // The peer holds it; we sleep in lockAsync until its unlock sets the event.
      await peerHolds(peer, 'exclusive');
      const waiting = mine.lockAsync(30_000);
      await new Promise((r) => setTimeout(r, 300));
      await peer.call('release', { key: 'l', offset: OFFSET, mode: 'exclusive' });
      assert.equal(await waiting, LockStatus.Acquired);
      // Now we hold it and the peer's thread blocks in a sync lock() with a 60 s poll until our unlock.
      const peerTakes = peer.call('take', { key: 'l', offset: OFFSET, mode: 'exclusive', pollMs: 60_000 });
      await new Promise((r) => setTimeout(r, 300));
      mine.unlock();
      assert.equal(await peerTakes, LockStatus.Acquired);
      await peer.call('release', { key: 'l', offset: OFFSET, mode: 'exclusive', pollMs: 60_000 });
      // A writer waiting for a reader to leave sleeps on the reader-sequence word: the reader's exit wakes it.
      assert.equal(mine.lockShared(0), LockStatus.Acquired);
      const writerWaits = peer.call('take', { key: 'l', offset: OFFSET, mode: 'exclusive', pollMs: 60_000 });
      await new Promise((r) => setTimeout(r, 300));
      mine.unlockShared();
      assert.equal(await writerWaits, LockStatus.Acquired);
      assert.equal(mine.tryLockShared(), LockStatus.WouldBlock, 'the peer holds it exclusively');
      await peer.call('release', { key: 'l', offset: OFFSET, mode: 'exclusive', pollMs: 60_000 });
      assert.equal(mine.tryLock(), LockStatus.Acquired);
      mine.unlock();
    });
  });

  it('gives OwnerDied to a waiter already asleep when the exclusive holder is killed', async () => {
    await withPeer(undefined, async ({ mine, peer }) => {
      await peerHolds(peer, 'exclusive');
      const waiting = mine.lockAsync(20_000);
      await new Promise((r) => setTimeout(r, 200));
      await peer.kill();
      assert.equal(await waiting, LockStatus.OwnerDied);
      mine.unlock();
      assert.equal(mine.lock(1000), LockStatus.Acquired, 'a clean lock afterwards');
      mine.unlock();
    });
  });

  it('reclaims the slot of a shared holder that was killed: the next writer gets OwnerDied (sync)', async () => {
    await withPeer(undefined, async ({ mine, peer }) => {
      await peerHolds(peer, 'shared');
      assert.equal(mine.tryLock(), LockStatus.WouldBlock, 'a reader holds it');
      await peer.kill();
      assert.equal(mine.lock(20_000), LockStatus.OwnerDied);
      assert.equal(mine.state().sharedHolders, 0);
      mine.unlock();
    });
  });
});
