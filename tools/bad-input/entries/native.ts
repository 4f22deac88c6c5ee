// Bad inputs for @shm/native (see ../src/table.ts): positional primitives, each checked in JS before the addon
// is called. Fixtures: a memfd and its mapping, a POSIX object, a SysV segment and a semaphore set.
import { uniqueKey, uniqueName } from '@shm/test-utils';
import { bad, definePackage } from '../src/table.js';

type Native = typeof import('@shm/native');

const WINDOWS_ONLY =
  'Windows only: instances come from open(), which is ERR_SHM_NOT_SUPPORTED elsewhere (its timeout goes through checkTimeout, which this table tries)';

type F = {
  fd: number;
  map: ReturnType<Native['mapFd']>;
  posix: string;
  posixFd: number;
  key: number;
  shmid: number;
  semKey: number;
  semid: number;
};

export default definePackage<Native, F>((n) => {
  const name = () => `/${uniqueName()}`;
  return {
    setup(): F {
      const fd = n.memfdCreate(uniqueName(), 4096);
      const map = n.mapFd(fd);
      const posix = `/${uniqueName()}`;
      const posixFd = n.shmOpen(posix, { exclusive: true, mode: 0o600 });
      n.ftruncate(posixFd, 4096);
      const key = uniqueKey();
      const shmid = n.shmget(key, 4096, { exclusive: true, mode: 0o600 });
      const semKey = uniqueKey();
      const semid = n.semget(semKey, 3, { exclusive: true, mode: 0o600 });
      return { fd, map, posix, posixFd, key, shmid, semKey, semid };
    },
    teardown(fx) {
      fx.map.close();
      n.closeFd(fx.fd);
      n.closeFd(fx.posixFd);
      n.shmUnlink(fx.posix);
      n.shmRemove(fx.shmid);
      n.semRemove(fx.semid);
    },
    snapshot: (fx) => ({
      size: n.fstat(fx.fd).size,
      seals: n.memfdSeals(fx.fd),
      word: new Int32Array(fx.map.buffer!)[0],
      posix: n.fstat(fx.posixFd).size,
      shm: n.shmStat(fx.shmid).size,
      sems: n.semGetAll(fx.semid),
    }),
    entries: {
      // ------------------------------------------------------------ errors and validators
      'new ShmError': [
        bad('type', 'a number for code', 'code', () => new n.ShmError(5 as never, 'm')),
        bad('type', 'a number for message', 'message', () => new n.ShmError('ERR_SHM_CLOSED', 5 as never)),
        bad(
          'type',
          'a string for options',
          'options',
          () => new n.ShmError('ERR_SHM_CLOSED', 'm', 'x' as never),
        ),
      ],
      'new ShmSystemError': [
        bad(
          'type',
          'a string for errno',
          'errno',
          () => new n.ShmSystemError('m', 'ENOENT' as never, 'open', '/x'),
        ),
        bad('type', 'a number for syscall', 'syscall', () => new n.ShmSystemError('m', 2, 5 as never, '/x')),
      ],
      'ShmError.isInstance': { accepts: 'a predicate on any value' },
      'ShmSystemError.isInstance': { accepts: 'a predicate on any value' },
      withTarget: [
        bad('type', 'a string for the error', 'e', () => n.withTarget('x' as never, 't')),
        bad('type', 'a number for target', 'target', () =>
          n.withTarget(new n.ShmError('ERR_SHM_CLOSED', 'm'), 5 as never),
        ),
      ],
      closedError: { accepts: 'builds an error naming whatever it is given' },
      expected: { accepts: 'builds the argument error itself, describing any value' },
      describeValue: { accepts: 'describes any value' },
      checkInt: [
        bad('type', 'a string', 'v', () => n.checkInt('1', 'v')),
        bad('range', 'out of range', 'v', () => n.checkInt(10, 'v', 0, 5)),
      ],
      checkFd: [bad('range', 'fd -1', 'fd', () => n.checkFd(-1))],
      checkKey: [bad('range', 'a key beyond 32 bits', 'key', () => n.checkKey(2 ** 40))],
      checkMode: [bad('range', 'mode 0o17777', 'mode', () => n.checkMode(0o17777))],
      checkShmName: [bad('range', 'a name with a slash inside', 'name', () => n.checkShmName('/a/b'))],
      checkSize: [bad('range', 'size 0', 'size', () => n.checkSize(0))],
      checkString: [bad('type', 'an empty string', 's', () => n.checkString('', 's'))],
      checkTimeout: [bad('type', 'a negative timeout', 'timeoutMs', () => n.checkTimeout(-1))],
      checkWin32Name: [bad('type', 'a number', 'name', () => n.checkWin32Name(5))],

      // ------------------------------------------------------------ POSIX and memfd
      shmOpen: [
        bad('type', 'a number for name', 'name', () => n.shmOpen(5 as never)),
        bad('range', 'a name with a slash inside', 'name', () => n.shmOpen('/a/b')),
        bad('type', 'a string for flags', 'flags', () => n.shmOpen(name(), 'x' as never)),
        bad('type', "'yes' for flags.create", 'flags.create', () =>
          n.shmOpen(name(), { create: 'yes' as never }),
        ),
        bad('range', 'mode 0o10000', 'mode', () => n.shmOpen(name(), { create: true, mode: 0o10000 })),
        bad('missing', 'a name that does not exist', 'ENOENT', () => n.shmOpen(name())),
        bad('exclusive', 'exclusive on an existing name', 'EEXIST', (fx: F) =>
          n.shmOpen(fx.posix, { exclusive: true }),
        ),
        bad('permission', "root's 0600 object, as nobody", 'EACCES', (_f, p) => n.shmOpen(p), {
          as: 'nobody',
          prepare: (fx: F) => fx.posix,
        }),
      ],
      shmUnlink: [
        bad('type', 'a number', 'name', () => n.shmUnlink(5 as never)),
        bad('missing', 'a name that does not exist', 'ENOENT', () => n.shmUnlink(name())),
        bad(
          'permission',
          "root's object in the sticky /dev/shm, as nobody",
          'EACCES',
          (_f, p) => n.shmUnlink(p),
          {
            as: 'nobody',
            prepare: (fx: F) => fx.posix,
          },
        ),
      ],
      openFile: [
        bad('type', 'a number for path', 'path', () => n.openFile(5 as never)),
        bad('type', 'a number for flags', 'flags', () => n.openFile('/tmp/x', 5 as never)),
        bad('missing', 'a path that does not exist', 'ENOENT', () => n.openFile(`/tmp/${uniqueName()}`)),
        bad('exclusive', 'exclusive on an existing file', 'EEXIST', () =>
          n.openFile('/tmp', { exclusive: true }),
        ),
      ],
      ftruncate: [
        bad('type', 'a string for fd', 'fd', () => n.ftruncate('3' as never, 10)),
        bad('range', 'size -1', 'size', (fx: F) => n.ftruncate(fx.posixFd, -1)),
        bad('state', 'growing a sealed memfd', 'EPERM', (fx: F) => n.ftruncate(fx.fd, 8192)),
      ],
      fallocate: [
        bad('range', 'offset -1', 'offset', (fx: F) => n.fallocate(fx.posixFd, -1, 10)),
        bad('type', 'a string for offset', 'offset', (fx: F) => n.fallocate(fx.posixFd, '0' as never, 10)),
        bad('range', 'length 0', 'length', (fx: F) => n.fallocate(fx.posixFd, 0, 0)),
        bad(
          'full',
          '4 MiB in a 1 MiB tmpfs',
          'ENOSPC',
          () => {
            const fd = n.shmOpen('/bad-input-fallocate', { create: true });
            n.fallocate(fd, 0, 4 * 1024 * 1024);
          },
          { as: 'full-tmpfs' },
        ),
      ],
      fstat: [
        bad('type', 'a string', 'fd', () => n.fstat('0' as never)),
        bad('state', 'a closed fd', 'EBADF', () => n.fstat(999_999)),
      ],
      closeFd: [
        bad('range', 'fd -1', 'fd', () => n.closeFd(-1)),
        bad('state', 'an fd not open', 'EBADF', () => n.closeFd(999_999)),
      ],
      mapFd: [
        bad('type', 'a string for fd', 'fd', () => n.mapFd('3' as never)),
        bad('type', 'a string for opts', 'opts', (fx: F) => n.mapFd(fx.fd, 'x' as never)),
        bad('range', 'offset -1', 'opts.offset', (fx: F) => n.mapFd(fx.fd, { offset: -1 })),
        bad('range', 'size 0', 'size', (fx: F) => n.mapFd(fx.fd, { size: 0 })),
        bad('type', "'yes' for opts.readonly", 'opts.readonly', (fx: F) =>
          n.mapFd(fx.fd, { readonly: 'yes' as never }),
        ),
      ],
      memfdCreate: [
        bad('type', 'a number for name', 'name', () => n.memfdCreate(5 as never, 10)),
        bad('range', 'size 0', 'size', () => n.memfdCreate('x', 0)),
        bad('range', 'more than RAM and swap', 'ENOMEM', () => n.memfdCreate('x', 2 ** 52)),
        bad('type', 'a string for opts', 'opts', () => n.memfdCreate('x', 10, 'x' as never)),
      ],
      memfdSeals: [bad('type', 'a string', 'fd', () => n.memfdSeals('x' as never))],
      isMemfd: [bad('type', 'a string', 'fd', () => n.isMemfd('x' as never))],
      memfdConstants: { accepts: 'no arguments' },
      pageSize: { accepts: 'no arguments' },

      // ------------------------------------------------------------ waiting
      futexWait: [
        bad('type', 'a string for the mapping', 'm', () => n.futexWait('x' as never, 0, 0, 0)),
        bad('type', 'a string for offset', 'offset', (fx: F) => n.futexWait(fx.map, 'x' as never, 0, 0)),
        bad('range', 'an offset past the end', 'offset', (fx: F) => n.futexWait(fx.map, 8192, 0, 0)),
        bad('type', 'NaN for timeoutMs', 'timeoutMs', (fx: F) => n.futexWait(fx.map, 0, 0, Number.NaN)),
      ],
      futexWaitAsync: [
        bad('range', 'an unaligned offset', 'offset', (fx: F) => n.futexWaitAsync(fx.map, 3, 0, 0)),
        bad('type', 'a string for timeoutMs', 'timeoutMs', (fx: F) =>
          n.futexWaitAsync(fx.map, 0, 0, '1' as never),
        ),
      ],
      futexWake: [
        bad('type', 'null for the mapping', 'm', () => n.futexWake(null as never, 0)),
        bad('type', 'a string for count', 'count', (fx: F) => n.futexWake(fx.map, 0, 'x' as never)),
      ],
      hasWordWait: { accepts: 'no arguments' },

      // ------------------------------------------------------------ processes
      procInfo: [bad('type', 'a string', 'id', () => n.procInfo('1' as never))],
      isAlive: [
        bad('type', 'a string for id', 'id', () => n.isAlive('1' as never)),
        bad('type', 'a string for startTime', 'startTime', () => n.isAlive(1, 'x' as never)),
      ],
      startTimeOf: [bad('type', 'a string', 'id', () => n.startTimeOf('1' as never))],
      threadId: { accepts: 'no arguments' },
      processId: { accepts: 'no arguments' },
      pidNamespace: { accepts: 'no arguments' },
      effectiveUid: { accepts: 'no arguments' },
      features: { accepts: 'no arguments' },
      loadBinding: { accepts: 'no arguments' },
      candidatePaths: { accepts: 'no arguments' },
      ownerIdentity: { accepts: 'no arguments' },
      ownerIdentityFor: [
        bad('range', "an unknown platform 'aix'", 'platform', () =>
          n.ownerIdentityFor('aix' as never, new n.MemoryProcessTable('linux')),
        ),
        bad('type', 'a number for platform', 'platform', () =>
          n.ownerIdentityFor(1 as never, new n.MemoryProcessTable('linux')),
        ),
        bad('type', 'an object without getpid', 'calls.getpid', () =>
          n.ownerIdentityFor('linux', {} as never),
        ),
        bad('type', 'null for calls', 'calls', () => n.ownerIdentityFor('linux', null as never)),
      ],
      'new MemoryProcessTable': [
        bad(
          'range',
          "an unknown platform 'sunos'",
          'platform',
          () => new n.MemoryProcessTable('sunos' as never),
        ),
        bad('type', 'a number for platform', 'platform', () => new n.MemoryProcessTable(5 as never)),
      ],
      'MemoryProcessTable#startProcess': { accepts: 'no arguments' },
      'MemoryProcessTable#startThread': [
        bad('type', 'a string for pid', 'pid', () =>
          new n.MemoryProcessTable('linux').startThread('1' as never),
        ),
        bad('range', 'a pid the table does not have', 'pid', () =>
          new n.MemoryProcessTable('linux').startThread(424242),
        ),
      ],
      'MemoryProcessTable#run': [
        bad('type', 'a string for tid', 'tid', () => new n.MemoryProcessTable('linux').run('1' as never)),
        bad('range', 'a tid the table does not have', 'tid', () => new n.MemoryProcessTable('linux').run(7)),
      ],
      'MemoryProcessTable#kill': [
        bad('type', 'a string for pid', 'pid', () => new n.MemoryProcessTable('linux').kill('1' as never)),
      ],
      'MemoryProcessTable#getpid': { accepts: 'no arguments' },
      'MemoryProcessTable#gettid': { accepts: 'no arguments' },
      'MemoryProcessTable#threadIndex': { accepts: 'no arguments' },
      'MemoryProcessTable#procInfo': [
        bad('type', 'a string for id', 'id', () => new n.MemoryProcessTable('linux').procInfo('1' as never)),
      ],

      // ------------------------------------------------------------ SysV
      sysvConstants: { accepts: 'no arguments' },
      listSysv: { accepts: 'no arguments' },
      sysvFlags: [
        bad('type', 'a string', 'flags', () => n.sysvFlags('x' as never)),
        bad('type', "'yes' for flags.exclusive", 'flags.exclusive', () =>
          n.sysvFlags({ exclusive: 'yes' as never }),
        ),
        bad('type', 'a string for flags.mode', 'mode', () => n.sysvFlags({ mode: '600' as never })),
      ],
      shmget: [
        bad('type', 'a string for key', 'key', () => n.shmget('k' as never, 10)),
        bad('range', 'size 0', 'size', () => n.shmget(uniqueKey(), 0)),
        bad('type', 'a string for flags', 'flags', () => n.shmget(uniqueKey(), 10, 'x' as never)),
        bad('missing', 'a key that does not exist', 'ENOENT', () => n.shmget(uniqueKey(), 10)),
        bad('exclusive', 'exclusive on an existing key', 'EEXIST', (fx: F) =>
          n.shmget(fx.key, 10, { exclusive: true }),
        ),
        bad('range', 'a size larger than the segment', 'EINVAL', (fx: F) => n.shmget(fx.key, 1 << 20)),
        bad('permission', "root's 0600 segment, as nobody", 'EACCES', (_f, p) => n.shmget(p, 10), {
          as: 'nobody',
          prepare: (fx: F) => fx.key,
        }),
      ],
      shmat: [
        bad('type', 'a string for shmid', 'shmid', () => n.shmat('x' as never)),
        bad('type', 'a string for opts', 'opts', (fx: F) => n.shmat(fx.shmid, 'x' as never)),
        bad('permission', "root's 0600 segment, as nobody", 'EACCES', (_f, p) => n.shmat(p), {
          as: 'nobody',
          prepare: (fx: F) => fx.shmid,
        }),
      ],
      shmStat: [bad('range', 'shmid -1', 'shmid', () => n.shmStat(-1))],
      shmRemove: [
        bad('range', 'shmid -1', 'shmid', () => n.shmRemove(-1)),
        bad('permission', "root's segment, as nobody", 'EPERM', (_f, p) => n.shmRemove(p), {
          as: 'nobody',
          prepare: (fx: F) => fx.shmid,
        }),
      ],
      semget: [
        bad('type', 'a string for nsems', 'nsems', () => n.semget(uniqueKey(), 'x' as never)),
        bad('exclusive', 'exclusive on an existing key', 'EEXIST', (fx: F) =>
          n.semget(fx.semKey, 3, { exclusive: true }),
        ),
        bad('missing', 'a key that does not exist', 'ENOENT', () => n.semget(uniqueKey(), 1)),
        bad('permission', "root's 0600 set, as nobody", 'EACCES', (_f, p) => n.semget(p, 3), {
          as: 'nobody',
          prepare: (fx: F) => fx.semKey,
        }),
      ],
      semop: [
        bad('type', 'a string for ops', 'ops', (fx: F) => n.semop(fx.semid, 'x' as never)),
        bad('type', 'an op that is not a triple', 'ops[]', (fx: F) => n.semop(fx.semid, [[0, 1]] as never)),
        bad('range', 'sem_op beyond 32767', 'sem_op', (fx: F) => n.semop(fx.semid, [[0, 40_000, 0]])),
        bad('type', 'timeout -5', 'timeoutMs', (fx: F) => n.semop(fx.semid, [[0, 0, 0]], -5)),
      ],
      semopAsync: [bad('type', 'a string for semid', 'semid', () => n.semopAsync('x' as never, [[0, 0, 0]]))],
      semopRaw: [
        bad('type', 'a string for flatOps', 'flatOps', (fx: F) => n.semopRaw(fx.semid, 'x' as never, 0)),
      ],
      semGetVal: [bad('type', 'a string for num', 'num', (fx: F) => n.semGetVal(fx.semid, 'x' as never))],
      semSetVal: [
        bad('type', 'a string for value', 'value', (fx: F) => n.semSetVal(fx.semid, 0, 'x' as never)),
      ],
      semGetAll: [bad('type', 'a string for semid', 'semid', () => n.semGetAll('x' as never))],
      semStat: [bad('range', 'semid -1', 'semid', () => n.semStat(-1))],
      semRemove: [bad('range', 'semid -1', 'semid', () => n.semRemove(-1))],
      semTables: [
        bad('type', 'a string for tables', 'tables', (fx: F) => n.semTables(fx.semid, 'x' as never)),
        bad('range', 'sem_op beyond 32767', 'sem_op', (fx: F) => n.semTables(fx.semid, [[[0, 40_000, 0]]])),
      ],
      semApply: [bad('type', 'a string for the tables id', 'tables', () => n.semApply('x' as never, 0, -1))],
      semApplyFn: { accepts: 'no arguments' },
      guardedCopyPlan: [
        bad('type', 'a number for tables', 'tables', (fx: F) =>
          n.guardedCopyPlan(5 as never, [fx.map], { direction: 'read', pieces: [] }),
        ),
        bad('type', 'a string for spec', 'spec', (fx: F) =>
          n.guardedCopyPlan(n.semTables(fx.semid, [[[0, 0, 0]]]), [fx.map], 'x' as never),
        ),
        bad('range', "direction 'sideways'", 'spec.direction', (fx: F) =>
          n.guardedCopyPlan(n.semTables(fx.semid, [[[0, 0, 0]]]), [fx.map], {
            direction: 'sideways' as never,
            pieces: [],
          }),
        ),
        bad('range', 'a piece past the end of its segment', 'spec.pieces[0][2]', (fx: F) =>
          n.guardedCopyPlan(n.semTables(fx.semid, [[[0, 0, 0]]]), [fx.map], {
            direction: 'read',
            pieces: [[0, 4000, 200]],
          }),
        ),
        bad('range', 'a check of a segment it was not given', 'spec.checks[0][0]', (fx: F) =>
          n.guardedCopyPlan(n.semTables(fx.semid, [[[0, 0, 0]]]), [fx.map], {
            direction: 'read',
            checks: [[1, 0, 0]],
            pieces: [],
          }),
        ),
        bad('range', 'an unaligned word', 'spec.count[1]', (fx: F) =>
          n.guardedCopyPlan(n.semTables(fx.semid, [[[0, 0, 0]]]), [fx.map], {
            direction: 'read',
            count: [0, 2],
            pieces: [],
          }),
        ),
        bad('range', "write op 'xor'", 'spec.after[0][2]', (fx: F) =>
          n.guardedCopyPlan(n.semTables(fx.semid, [[[0, 0, 0]]]), [fx.map], {
            direction: 'write',
            pieces: [],
            after: [[0, 0, 'xor' as never, 1]],
          }),
        ),
      ],
      guardedCopy: [
        bad('type', 'a string for the plan id', 'plan', () =>
          n.guardedCopy('x' as never, -1, -1, Buffer.alloc(1)),
        ),
        bad('type', 'a string for data', 'data', (fx: F) =>
          n.guardedCopy(
            n.guardedCopyPlan(n.semTables(fx.semid, [[[0, 0, 0]]]), [fx.map], {
              direction: 'read',
              pieces: [],
            }).id,
            -1,
            -1,
            'x' as never,
          ),
        ),
        bad('range', 'a lock table it does not have', 'lock', (fx: F) =>
          n.guardedCopy(
            n.guardedCopyPlan(n.semTables(fx.semid, [[[0, 0, 0]]]), [fx.map], {
              direction: 'read',
              pieces: [],
            }).id,
            3,
            -1,
            Buffer.alloc(1),
          ),
        ),
      ],
      guardedCopyFn: { accepts: 'no arguments' },

      // ------------------------------------------------------------ Windows
      hasWin32: { accepts: 'no arguments' },
      win32Constants: { accepts: 'no arguments' },
      win32OpenHandles: { accepts: 'no arguments' },
      createWin32Mapping: [
        bad('type', 'a string for opts', 'opts', () => n.createWin32Mapping('x' as never)),
      ],
      createWin32FileMapping: [
        bad('type', 'a number for path', 'path', () => n.createWin32FileMapping(5 as never)),
        bad('type', 'a string for opts', 'opts', () => n.createWin32FileMapping('/tmp/x', 'x' as never)),
      ],
      openWin32Mapping: [bad('type', 'a number for name', 'name', () => n.openWin32Mapping(5 as never))],
      'new Win32Mutex': { internal: 'TypeScript-private constructor: mutexes come from Win32Mutex.open' },
      'Win32Mutex.open': [bad('type', 'a number for name', 'name', () => n.Win32Mutex.open(5 as never))],
      'Win32Mutex#acquire': { internal: WINDOWS_ONLY },
      'Win32Mutex#tryAcquire': { internal: WINDOWS_ONLY },
      'Win32Mutex#acquireAsync': { internal: WINDOWS_ONLY },
      'Win32Mutex#release': { internal: WINDOWS_ONLY },
      'Win32Mutex#close': { internal: WINDOWS_ONLY },
      'new Win32Event': { internal: 'TypeScript-private constructor: events come from Win32Event.open' },
      'Win32Event.open': [bad('type', 'a number for name', 'name', () => n.Win32Event.open(5 as never))],
      'Win32Event#set': { internal: WINDOWS_ONLY },
      'Win32Event#reset': { internal: WINDOWS_ONLY },
      'Win32Event#wait': { internal: WINDOWS_ONLY },
      'Win32Event#waitAsync': { internal: WINDOWS_ONLY },
      'Win32Event#close': { internal: WINDOWS_ONLY },
    },
  };
});
