// Through a real IPC::ShareLite share (issue 16): a Perl process stores freeze(\%h), this Node process reads it with
// @shm/sharelite's fetchValue(storable), edits it and stores it back with storeValue, and Perl thaws the result.
import { spawnSync } from 'node:child_process';
import { sysv } from '@shm/core';
import { ShareLite } from '@shm/sharelite';
import { uniqueKey } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { bless, blessed, createStorableSerializer, PerlRef, storable } from '../src/index.js';

const keys: number[] = [];
afterEach(() => {
  // Whatever a failed test left: the share's segments (key, key+1, ...) and its semaphore set.
  for (const key of keys.splice(0)) {
    for (const e of sysv.listSysv().filter((x) => x.key >= key && x.key < key + 256)) {
      try {
        if (e.kind === 'shm') sysv.shmRemove(e.id);
        else sysv.semRemove(e.id);
      } catch {
        /* gone */
      }
    }
  }
});

/** Runs a Perl process with the share `$s` opened (created) and Storable loaded; returns its stdout. */
function perl(key: number, code: string): string {
  const r = spawnSync(
    'perl',
    [
      '-MIPC::ShareLite',
      '-MStorable=freeze,nfreeze,thaw',
      '-MScalar::Util=blessed,refaddr',
      '-e',
      `my $s = IPC::ShareLite->new(-key => $ARGV[0], -create => 'yes', -destroy => 'no') or die "open: $!"; ${code}`,
      String(key),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`perl failed: ${r.stderr}`);
  return r.stdout;
}

const PERL_VALUE = `
  my $shared = [1, 2];
  my %h = (
    name  => "caf\\x{e9} \\x{263a}",
    big   => 9007199254740993,
    e     => 2.5e-3,
    list  => $shared,
    again => $shared,
    obj   => bless({ id => 7 }, 'Acme::Widget'),
    "\\x{263a}" => 'key',
    blob  => join('', map { chr } 0 .. 255) x 400,
  );
  $h{self} = \\%h;
`;

describe.each([
  { perlFreeze: 'freeze', node: storable, nodeName: 'nfreeze' },
  { perlFreeze: 'nfreeze', node: createStorableSerializer({ byteOrder: 'native' }), nodeName: 'freeze' },
])('Perl stores $perlFreeze(\\%h), Node writes back with $nodeName', ({ perlFreeze, node }) => {
  it('Node reads the structure, edits it, and Perl thaws the edit', async () => {
    const key = uniqueKey();
    keys.push(key);
    perl(key, `${PERL_VALUE} $s->store(${perlFreeze}(\\%h)); print $s->num_segments`);
    const share = new ShareLite({ key });
    try {
      expect(share.numSegments()).toBeGreaterThan(1); // the 100 KB blob spans segments
      const h = share.fetchValue(storable) as any;
      expect(h.name).toBe('café ☺');
      expect(h.big).toBe(perlFreeze === 'freeze' ? 9007199254740993n : '9007199254740993');
      expect(h.e).toBe(perlFreeze === 'freeze' ? 0.0025 : '0.0025');
      expect(h.again).toBe(h.list);
      expect(h.self).toBe(h);
      expect(blessed(h.obj)).toBe('Acme::Widget');
      expect(h['☺']).toBe('key');
      expect(h.blob.length).toBe(102_400);
      // The edit: change, add, share, bless, refer.
      h.list.push(3);
      h.obj.id += 1;
      h.added = { by: 'node', when: 2n ** 62n, ok: new PerlRef('yes') };
      h.gadget = bless([h.list], 'Acme::Gadget');
      delete h.blob;
      share.storeValue(h, node);
      const out = perl(
        key,
        `my $h = thaw($s->fetch) or die "thaw"; print join "|",
          $h->{name} eq "caf\\x{e9} \\x{263a}" ? "name" : "NAME?",
          "@{$h->{list}}", refaddr($h->{list}) == refaddr($h->{again}) ? "shared" : "copied",
          refaddr($h->{self}) == refaddr($h) ? "cycle" : "no-cycle",
          blessed($h->{obj}) . "=" . $h->{obj}{id}, $h->{added}{by}, $h->{added}{when}, \${$h->{added}{ok}},
          blessed($h->{gadget}), refaddr($h->{gadget}[0]) == refaddr($h->{list}) ? "shared" : "copied",
          exists $h->{blob} ? "blob" : "no-blob", $h->{"\\x{263a}"}`,
      );
      expect(out).toBe(
        'name|1 2 3|shared|cycle|Acme::Widget=8|node|4611686018427387904|yes|Acme::Gadget|shared|no-blob|key',
      );
      // And once more through the async variants.
      await share.storeValueAsync({ step: 2 }, node);
      expect(perl(key, 'print thaw($s->fetch)->{step}')).toBe('2');
      expect(await share.fetchValueAsync(storable)).toEqual({ step: 2 });
    } finally {
      share.destroy();
    }
  });
});
