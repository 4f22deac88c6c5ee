// The mapping table of the README, row by row, against the real Storable 3.26: each test has Perl freeze a value
// and checks what Node decodes, and has Node encode a value and checks what Perl thaws (in Perl).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bless,
  blessed,
  createStorableSerializer,
  freeze,
  nfreeze,
  PERL_CLASS,
  PerlRef,
  storable,
  thaw,
} from '../src/index.js';
import { StorablePeer } from './perl-peer.js';

let perl: StorablePeer;
beforeAll(() => {
  perl = new StorablePeer();
});
afterAll(async () => {
  await perl?.close();
});

/** The images Perl's freeze and nfreeze make of the Perl expression (a reference). */
async function perlImages(expr: string): Promise<{ nat: Buffer; net: Buffer }> {
  const nat = await perl.evalBytes(`freeze(do { ${expr} })`);
  const net = await perl.evalBytes(`nfreeze(do { ${expr} })`);
  return { nat, net };
}

/** Both images of a Perl expression, decoded with `s` (default: the default serializer). */
async function fromPerl(expr: string, s = storable): Promise<{ nat: any; net: any }> {
  const { nat, net } = await perlImages(expr);
  return { nat: s.decode(nat), net: s.decode(net) };
}

/** Runs Perl code on Node's image (`$v` is thaw's result) and returns its result as text. */
const inPerl = (image: Uint8Array, code: string) => perl.eval(code, image);

function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

const native = createStorableSerializer({ byteOrder: 'native' });

describe('the header', () => {
  it('nfreeze and freeze write the header Perl writes on this machine', async () => {
    const { nat, net } = await perlImages('\\1');
    expect([...nfreeze(1).subarray(0, 2)]).toEqual([...net.subarray(0, 2)]); // 05 0b: network order, v2.11
    expect([...freeze(1).subarray(0, 15)]).toEqual([...nat.subarray(0, 15)]); // 04 0b 08 "12345678" 04 08 08 08
    expect(
      await inPerl(nfreeze({}), 'my $m = Storable::read_magic($img); "$m->{version} $m->{netorder}"'),
    ).toBe('2.11 1');
    expect(
      await inPerl(
        freeze({}),
        'my $m = Storable::read_magic($img); "$m->{version} $m->{netorder} $m->{byteorder}"',
      ),
    ).toBe('2.11 0 12345678');
  });

  it('writes byte for byte what Perl writes for simple values', async () => {
    const { net } = await perlImages(
      '[1, -5, 300, 70000, "a", "caf\\xe9", undef, [], {}, { k => "v" }, \\"s"]',
    );
    expect(
      Buffer.from(
        nfreeze([1, -5, 300, 70000, 'a', 'café', null, [], {}, { k: 'v' }, new PerlRef('s')]),
      ).toString('hex'),
    ).toBe(net.toString('hex'));
  });
});

describe('undef', () => {
  it('decodes as null, or as undefined with undef: "undefined"', async () => {
    expect((await fromPerl('[undef]')).net).toEqual([null]);
    expect((await fromPerl('[undef]', createStorableSerializer({ undef: 'undefined' }))).net).toEqual([
      undefined,
    ]);
    // Nonexistent elements and &PL_sv_undef too.
    expect((await fromPerl('my @a; $a[2] = 1; \\@a')).net).toEqual([null, null, 1]);
  });

  it('null and undefined encode as undef', async () => {
    expect(
      await inPerl(
        nfreeze([null, undefined, { a: undefined }]),
        'join ",", map { defined $_ ? 1 : 0 } @$v[0, 1], $v->[2]{a}',
      ),
    ).toBe('0,0,0');
    expect(await inPerl(nfreeze({ a: undefined }), 'exists $v->{a} ? "exists" : "missing"')).toBe('exists');
  });
});

describe('integers', () => {
  it('small and 32-bit integers are numbers in both orders', async () => {
    const r = await fromPerl('[0, -128, 127, 128, -129, 2147483647, -2147483648]');
    expect(r.nat).toEqual([0, -128, 127, 128, -129, 2147483647, -2147483648]);
    expect(r.net).toEqual(r.nat);
  });

  it('freeze: 64-bit integers are numbers up to 2^53 - 1 and BigInts beyond, never rounded', async () => {
    const r = await fromPerl(
      '[9007199254740991, -9007199254740991, 9007199254740992, 9007199254740993, -9007199254740993, 9223372036854775807, -9223372036854775807 - 1]',
    );
    expect(r.nat).toEqual([
      9007199254740991,
      -9007199254740991,
      9007199254740992n,
      9007199254740993n,
      -9007199254740993n,
      9223372036854775807n,
      -9223372036854775808n,
    ]);
    // nfreeze carries integers beyond 32 bits as decimal strings (Perl's choice): they stay strings, exact.
    expect(r.net).toEqual([
      '9007199254740991',
      '-9007199254740991',
      '9007199254740992',
      '9007199254740993',
      '-9007199254740993',
      '9223372036854775807',
      '-9223372036854775808',
    ]);
    // An unsigned integer above 2^63 - 1 is a string even in freeze (Perl writes it so).
    expect((await fromPerl('[18446744073709551615]')).nat).toEqual(['18446744073709551615']);
  });

  it('Perl receives exact integers from numbers and BigInts', async () => {
    const values = [
      2 ** 40,
      -(2 ** 52),
      9007199254740993n,
      -9223372036854775808n,
      18446744073709551615n,
      2n ** 70n,
    ];
    const code =
      'join ",", map { my $f = B::svref_2object(\\$_)->FLAGS; ($f & B::SVf_POK ? "S" : $f & B::SVf_IOK ? "I" : "N") . $_ } @$v';
    expect(await inPerl(freeze(values), `use B; ${code}`)).toBe(
      'I1099511627776,I-4503599627370496,I9007199254740993,I-9223372036854775808,S18446744073709551615,S1180591620717411303424',
    );
    expect(await inPerl(nfreeze(values), `use B; ${code}`)).toBe(
      'S1099511627776,S-4503599627370496,S9007199254740993,S-9223372036854775808,S18446744073709551615,S1180591620717411303424',
    );
    // An integer-valued double beyond 2^53 stays a double (NV) in freeze.
    expect(await inPerl(freeze([2 ** 60]), `use B; ${code}`)).toBe('N1.15292150460685e+18');
  });
});

describe('doubles', () => {
  it('freeze carries doubles exactly; nfreeze as the strings Perl prints (15 digits)', async () => {
    const r = await fromPerl('[0.1 + 0.2, 1e300, -2.5, 9**9**9, -9**9**9]');
    expect(r.nat).toEqual([0.1 + 0.2, 1e300, -2.5, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect(r.net).toEqual(['0.3', '1e+300', '-2.5', 'Inf', '-Inf']);
    expect(Number.isNaN((await fromPerl('[-sin(9**9**9)]')).nat[0])).toBe(true);
  });

  it("Node's nfreeze writes the shortest string that reads back as the same double", async () => {
    const x = [0.1 + 0.2, 1 / 3, 5e-324, -0, Number.NaN, Number.POSITIVE_INFINITY];
    expect(
      await inPerl(
        nfreeze(x),
        'join ",", ($v->[0] == 0.1 + 0.2 ? "exact" : "rounded"), ($v->[1] == 1/3 ? "exact" : "rounded"), ($v->[2] > 0 ? "denormal" : "zero"), "$v->[3]", ($v->[4] != $v->[4] ? "nan" : "num"), $v->[5] + 0',
      ),
    ).toBe('exact,exact,denormal,-0,nan,Inf');
    expect(
      await inPerl(freeze(x), 'join ",", ($v->[0] == 0.1 + 0.2 ? "exact" : "rounded"), $v->[5] + 0'),
    ).toBe('exact,Inf');
  });
});

describe('doubles written by nfreeze', () => {
  it('read back in Perl as the very same doubles, decimal fast path and shortest strings alike', async () => {
    const xs: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const r = Math.random();
      xs.push(
        i % 3 === 0
          ? Math.round((r - 0.5) * 1e7) / 10 ** (1 + (i % 6)) // up to 6 decimals: written digit by digit
          : (r - 0.5) * 10 ** ((i % 40) - 20),
      );
    }
    const want = xs.map((x) => {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(x);
      return b.toString('hex');
    });
    expect(await inPerl(nfreeze(xs), 'join ",", map { unpack "H*", pack "d>", $_ + 0 } @$v')).toBe(
      want.join(','),
    );
  });
});

describe('strings', () => {
  it('a byte string is a latin1 JS string by default, a Buffer with byteStrings "buffer"', async () => {
    expect((await fromPerl('["caf\\xe9", "\\x00\\xff"]')).net).toEqual(['café', '\u0000ÿ']);
    const b = (
      await fromPerl('["caf\\xe9", "\\x{263a}"]', createStorableSerializer({ byteStrings: 'buffer' }))
    ).net;
    expect(Buffer.isBuffer(b[0])).toBe(true);
    expect([...b[0]]).toEqual([0x63, 0x61, 0x66, 0xe9]);
    expect(b[1]).toBe('\u263a');
  });

  it('with byteStrings "utf8", byte strings are UTF-8 text, and invalid UTF-8 stays bytes', async () => {
    const s = createStorableSerializer({ byteStrings: 'utf8' });
    const r = (await fromPerl('["caf\\xc3\\xa9", "caf\\xe9", "plain", { "caf\\xc3\\xa9" => 1 }]', s)).net;
    expect(r[0]).toBe('café');
    expect(Buffer.isBuffer(r[1])).toBe(true);
    expect(r[2]).toBe('plain');
    expect(Object.keys(r[3])).toEqual(['café']);
    // And it encodes JS strings as UTF-8 bytes without the flag, keys too.
    expect(
      await inPerl(
        s.encode(['café', { é: 1 }]),
        'join ",", (utf8::is_utf8($v->[0]) ? "flag" : "bytes"), $v->[0] eq "caf\\xc3\\xa9" ? "utf8" : "other", (keys %{$v->[1]})[0] eq "\\xc3\\xa9" ? "key-utf8" : "key-other"',
      ),
    ).toBe('bytes,utf8,key-utf8');
  });

  it('a UTF-8 string decodes as the JS string, in every mode', async () => {
    for (const byteStrings of ['latin1', 'utf8', 'buffer'] as const) {
      const s = createStorableSerializer({ byteStrings });
      expect((await fromPerl('["\\x{263a} \\x{1f600}"]', s)).net).toEqual(['\u263a \u{1f600}']);
    }
  });

  it('encode: a string below U+0100 is a byte string, else a UTF-8 string; bytes are a byte string', async () => {
    const code = 'join ",", map { (utf8::is_utf8($_) ? "U" : "B") . length($_) } @$v[0..3]; ';
    const img = nfreeze(['café', '\u263a\u{1f600}', 'abc', Buffer.from([0, 255, 128])]);
    expect(await inPerl(img, code)).toBe('B4,U2,B3,B3');
    expect(
      await inPerl(img, '$v->[0] eq "caf\\xe9" && $v->[1] eq "\\x{263a}\\x{1f600}" ? "same" : "differ"'),
    ).toBe('same');
    // With byteStrings "buffer", every JS string carries the UTF-8 flag, so it comes back as a string.
    const buf = createStorableSerializer({ byteStrings: 'buffer' });
    expect(await inPerl(buf.encode(['abc', Buffer.from('abc')]), code.replace('0..3', '0..1'))).toBe('U3,B3');
  });

  it('lone surrogates encode as U+FFFD (UTF-8 cannot hold them)', async () => {
    expect(await inPerl(nfreeze(['a\ud800b']), 'sprintf "%vX", $v->[0]')).toBe('61.FFFD.62');
  });

  it('the large forms: strings over 255 bytes, both kinds', async () => {
    for (const n of [255, 256, 70_000]) {
      const r = await fromPerl(`["x" x ${n}, "\\x{263a}" x ${n}]`);
      expect(r.net[0]).toBe('x'.repeat(n));
      expect(r.nat[1]).toBe('\u263a'.repeat(n));
    }
    const img = nfreeze(['y'.repeat(256), 'é'.repeat(300), '\u263a'.repeat(100)]);
    // 0x01 SX_LSCALAR and 0x18 SX_LUTF8STR: a 4-byte length.
    expect(img[7]).toBe(0x01);
    expect(await inPerl(img, 'join ",", map { length } @$v')).toBe('256,300,100');
  });
});

describe('arrays, hashes and references', () => {
  it('array and hash references are arrays and objects, both ways, large ones included', async () => {
    const r = await fromPerl(
      '{ list => [1, [2, {}]], big => [1 .. 300], wide => { map { ("k$_" => $_) } 1 .. 300 } }',
    );
    expect(r.net.list).toEqual([1, [2, {}]]);
    expect(r.net.big).toHaveLength(300);
    expect(Object.keys(r.nat.wide)).toHaveLength(300);
    const back = nfreeze({ big: Array.from({ length: 300 }, (_, i) => i), wide: r.nat.wide });
    expect(
      await inPerl(back, 'scalar(@{$v->{big}}) . "," . scalar(keys %{$v->{wide}}) . "," . $v->{wide}{k300}'),
    ).toBe('300,300,300');
  });

  it('a reference to a scalar or to a reference is a PerlRef', async () => {
    const r = (
      await fromPerl('{ s => \\"text", n => \\42, rr => \\\\"deep", rh => \\{ a => 1 }, u => \\undef }')
    ).net;
    expect(r.s).toBeInstanceOf(PerlRef);
    expect(r.s.value).toBe('text');
    expect(r.n.value).toBe(42);
    expect(r.rr.value).toBeInstanceOf(PerlRef);
    expect(r.rr.value.value).toBe('deep');
    expect(r.rh.value).toEqual({ a: 1 });
    expect(r.u.value).toBe(null);
    expect(
      await inPerl(
        nfreeze(r),
        'join ",", ref $v->{s}, $v->{s}->$*, ref $v->{rr}, $v->{rr}->$*->$*, ref $v->{rh}, ref $v->{rh}->$*',
      ),
    ).toBe('SCALAR,text,REF,deep,REF,HASH');
  });

  it('shared referents are one JS object, and one Perl referent again', async () => {
    const r = (await fromPerl('my $s = [1]; my $x = 5; { a => $s, b => [$s], r1 => \\$x, r2 => \\$x }')).net;
    expect(r.b[0]).toBe(r.a);
    expect(r.r1).toBe(r.r2);
    r.r1.value = 6;
    const shared = { n: 1 };
    const ref = new PerlRef('one scalar');
    expect(
      await inPerl(
        nfreeze({ a: shared, b: [shared], r1: ref, r2: ref, again: r }),
        'use Scalar::Util "refaddr"; join ",", refaddr($v->{a}) == refaddr($v->{b}[0]) ? "shared" : "copied", refaddr($v->{r1}) == refaddr($v->{r2}) ? "shared" : "copied", refaddr($v->{again}{a}) == refaddr($v->{again}{b}[0]) ? "shared" : "copied", $v->{again}{r2}->$*',
      ),
    ).toBe('shared,shared,shared,6');
  });

  it('cycles survive both ways, through hashes, arrays and scalar references', async () => {
    const r = (
      await fromPerl(
        'my $h = { name => "h" }; $h->{self} = $h; $h->{list} = [$h]; my $x; $x = \\$x; $h->{loop} = $x; $h',
      )
    ).net;
    expect(r.self).toBe(r);
    expect(r.list[0]).toBe(r);
    expect(r.loop.value).toBe(r.loop);
    expect(
      await inPerl(
        nfreeze(r),
        'use Scalar::Util "refaddr"; join ",", refaddr($v->{self}) == refaddr($v) ? "cycle" : "no", refaddr($v->{loop}->$*) == refaddr($v->{loop}) ? "cycle" : "no"',
      ),
    ).toBe('cycle,cycle');
  });
});

describe('the top level (thaw always returns a reference)', () => {
  it('freeze(\\%h) is the object; freeze(\\$scalar) is the scalar; freeze(\\\\%h) is a PerlRef', async () => {
    expect((await fromPerl('{ a => 1 }')).net).toEqual({ a: 1 });
    expect((await fromPerl('\\"str"')).net).toBe('str');
    const rr = (await fromPerl('\\{ a => 1 }')).net;
    expect(rr).toBeInstanceOf(PerlRef);
    expect(rr.value).toEqual({ a: 1 });
    expect(await inPerl(nfreeze('str'), 'ref($v) . ":" . $$v')).toBe('SCALAR:str');
    expect(await inPerl(nfreeze(rr), 'ref($v) . ":" . ref($$v)')).toBe('REF:HASH');
  });
});

describe('blessed references', () => {
  it('decode with their class (blessed()), which survives a Node round trip', async () => {
    const r = (
      await fromPerl(
        '{ h => bless({ x => 1 }, "My::Hash"), a => bless([1], "My::Array"), s => bless(\\(my $s = 5), "My::Scalar"), again => bless({}, "My::Hash") }',
      )
    ).net;
    expect(blessed(r.h)).toBe('My::Hash');
    expect(blessed(r.a)).toBe('My::Array');
    expect(blessed(r.s)).toBe('My::Scalar');
    expect(r.s.value).toBe(5);
    expect(blessed(r.again)).toBe('My::Hash'); // the second time by index (SX_IX_BLESS)
    expect(Object.keys(r.h)).toEqual(['x']); // the class is not a key
    expect(JSON.stringify(r.h)).toBe('{"x":1}');
    expect(
      await inPerl(
        nfreeze(r),
        'use Scalar::Util "blessed"; join ",", map { blessed($v->{$_}) } qw(h a s again)',
      ),
    ).toBe('My::Hash,My::Array,My::Scalar,My::Hash');
  });

  it('bless() marks a value for Perl; the top level may be blessed too', async () => {
    const point = bless({ x: 1, y: 2 }, 'Point');
    expect(blessed(point)).toBe('Point');
    expect((point as any)[PERL_CLASS]).toBe('Point');
    expect(await inPerl(nfreeze(point), 'ref($v) . "," . $v->{y}')).toBe('Point,2');
    const top = (await fromPerl('bless \\(my $s = "v"), "Top"')).net;
    expect(top).toBeInstanceOf(PerlRef);
    expect(blessed(top)).toBe('Top');
    expect(await inPerl(nfreeze(top), 'ref($v) . "," . $$v')).toBe('Top,v');
  });

  it('long class names (> 127 bytes) and many classes (index > 127) both ways', async () => {
    const long = `${'L'.repeat(200)}::Name`;
    const r = (await fromPerl(`[bless({}, "${long}"), map { bless {}, "C$_" } 0 .. 199]`)).net;
    expect(blessed(r[0])).toBe(long);
    expect(blessed(r[200])).toBe('C199');
    const back = [...r, bless({}, 'C150'), bless([], long)]; // again, by index beyond 127
    expect(
      await inPerl(
        nfreeze(back),
        'use Scalar::Util "blessed"; join ",", length(blessed($v->[0])), blessed($v->[200]), blessed($v->[201]), length(blessed($v->[202]))',
      ),
    ).toBe(`${long.length},C199,C150,${long.length}`);
  });
});

describe('hash keys', () => {
  it('UTF-8 keys, latin1 keys and the empty key, both ways', async () => {
    const r = (await fromPerl('{ "\\x{263a}" => 1, "caf\\xe9" => 2, "" => 3, "\\x{1f600}x" => 4 }')).net;
    expect(r).toEqual({ '\u263a': 1, café: 2, '': 3, '\u{1f600}x': 4 });
    expect(
      await inPerl(nfreeze(r), 'join ",", map { $v->{$_} } "\\x{263a}", "caf\\xe9", "", "\\x{1f600}x"'),
    ).toBe('1,2,3,4');
  });

  it('a key named __proto__ is an own key, never the prototype', async () => {
    const r = (await fromPerl('{ __proto__ => { polluted => 1 } }')).net;
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
    expect(Object.keys(r)).toEqual(['__proto__']);
    expect(({} as any).polluted).toBeUndefined();
  });
});

describe('booleans', () => {
  it('default: true and false encode as Perl 5.36 freezes !!1 and !!0 ("1" and "")', async () => {
    expect(Buffer.from(nfreeze([true, false])).toString('hex')).toBe(
      (await perlImages('[!!1, !!0]')).net.toString('hex'),
    );
    expect(await inPerl(nfreeze({ t: true }), '$v->{t} = 5; "writable"')).toBe('writable');
  });

  it('Perl\u2019s immortals decode as true and false; booleans: "immortal" writes them, read-only in Perl', async () => {
    expect((await fromPerl('[\\!!1, \\!!0]')).net.map((r: PerlRef) => r.value)).toEqual([true, false]);
    const img = createStorableSerializer({ booleans: 'immortal' }).encode({ t: true, f: false });
    expect(thaw(img)).toEqual({ t: true, f: false });
    expect(await inPerl(img, 'eval { $v->{t} = 5 }; $@ =~ /read-only/ ? "read-only" : "writable"')).toBe(
      'read-only',
    );
  });
});

describe('what Storable writes but JS cannot hold', () => {
  it('weak references, v-strings, overloaded objects and restricted hashes decode as their plain values', async () => {
    const r = (
      await fromPerl(
        'use Scalar::Util "weaken"; use Hash::Util "lock_keys"; package Ov { use overload q("") => sub { "ov" }; } my $t = [1]; my $w = $t; weaken($w); my %r = (a => 1, b => 2); lock_keys(%r); delete $r{b}; { weak => $w, strong => $t, v => v1.22.333, ov => bless({}, "Ov"), restricted => \\%r }',
      )
    ).net;
    expect(r.weak).toBe(r.strong);
    expect(r.v).toBe('\u0001\u0016\u014d');
    expect(blessed(r.ov)).toBe('Ov');
    expect(r.restricted).toEqual({ a: 1 }); // the deleted key is a placeholder, not a key
  });

  it.each([
    [
      'a code reference',
      '$Storable::Deparse = 1; { list => [1, sub { 42 }] }',
      /code reference .* at value\{#0\}\[1\]/,
    ],
    [
      'a tied hash',
      'package TH { require Tie::Hash; our @ISA = ("Tie::StdHash") } tie my %h, "TH"; { t => \\%h }',
      /tied hash .* at value\{#0\}/,
    ],
    [
      'a tied array',
      'package TA { require Tie::Array; our @ISA = ("Tie::StdArray") } tie my @a, "TA"; [\\@a]',
      /tied array .* at value\[0\]/,
    ],
    [
      'a tied scalar',
      'package TS { require Tie::Scalar; our @ISA = ("Tie::StdScalar") } tie my $s, "TS"; [\\$s]',
      /tied scalar .* at value\[0\]\.value/,
    ],
    [
      'a STORABLE_freeze hook',
      'package Hooked { sub STORABLE_freeze { "frozen" } } [bless {}, "Hooked"]',
      /class Hooked frozen by its STORABLE_freeze hook .* at value\[0\]/,
    ],
    ['a regexp', '[qr/ab+c/i]', /regexp .* at value\[0\]/],
  ])('%s throws ERR_SHM_UNSERIALIZABLE naming it and where it is', async (_what, expr, message) => {
    const { nat, net } = await perlImages(expr);
    for (const img of [nat, net]) {
      const e = thrown(() => storable.decode(img));
      expect(e.code).toBe('ERR_SHM_UNSERIALIZABLE');
      expect(e.message).toMatch(message);
    }
  });
});

describe('what Storable cannot carry (encode)', () => {
  it.each([
    [{ a: { when: new Date(0) } }, /Date .* at value\.a\.when/],
    [{ m: new Map() }, /Map .* at value\.m/],
    [[1, [2, new Set()]], /Set .* at value\[1\]\[1\]/],
    [{ t: new Int16Array(2) }, /Int16Array .* at value\.t/],
    [{ f: () => 1 }, /function at value\.f/],
    [{ 'odd key': Symbol('s') }, /symbol at value\["odd key"\]/],
    [{ p: new (class Point {})() }, /instance of Point .* at value\.p/],
    [{ r: new PerlRef(() => 1) }, /function at value\.r\.value/],
    [[/x/], /RegExp .* at value\[0\]/],
    [{ ab: new ArrayBuffer(4) }, /ArrayBuffer .* at value\.ab/],
  ])('%o throws ERR_SHM_UNSERIALIZABLE naming the type and the path', (value, message) => {
    const e = thrown(() => nfreeze(value));
    expect(e.code).toBe('ERR_SHM_UNSERIALIZABLE');
    expect(e.message).toMatch(message);
    expect(e.message).toContain("Serializer 'storable'");
  });
});

describe('versions', () => {
  it('reads the images of every 2.x binary minor, and store/nstore files (magic "pst0")', async () => {
    const { nat, net } = await perlImages('{ a => [1, "x", 2.5] }');
    for (const minor of [0, 1, 2, 4, 7, 8, 9, 10, 11, 12]) {
      const n2 = Buffer.from(net);
      n2[1] = minor;
      expect(storable.decode(n2)).toEqual({ a: [1, 'x', '2.5'] });
      // Native images before minor 2 have no NV size byte.
      const body = nat.subarray(15);
      const header = minor >= 2 ? nat.subarray(0, 15) : nat.subarray(0, 14);
      const n1 = Buffer.concat([header, body]);
      n1[1] = minor;
      expect(storable.decode(n1)).toEqual({ a: [1, 'x', 2.5] });
    }
    const file = await perl.evalBytes(
      'my $f = "/tmp/storable-test-$$"; Storable::nstore({ from => "nstore" }, $f); open my $h, "<:raw", $f; local $/; my $d = <$h>; close $h; unlink $f; $d',
    );
    expect(file.subarray(0, 4).toString('latin1')).toBe('pst0');
    expect(storable.decode(file)).toEqual({ from: 'nstore' });
  });

  it("reads Storable 3.32's booleans (binary 2.12)", () => {
    expect(storable.decode(Uint8Array.from([0x05, 0x0c, 0x02, 0, 0, 0, 2, 34, 35]))).toEqual([true, false]);
  });

  it('reads native images of 32-bit and big-endian perls', () => {
    const le32 = Uint8Array.from([
      0x04,
      0x0b,
      4,
      ...Buffer.from('1234'),
      4,
      4,
      4,
      8,
      2,
      2,
      0,
      0,
      0, // SX_ARRAY, 2 (little-endian)
      6,
      0xfe,
      0xff,
      0xff,
      0x7f, // SX_INTEGER, a 4-byte IV: 0x7ffffffe
      7,
      ...Buffer.from(new Float64Array([2.5]).buffer), // SX_DOUBLE
    ]);
    expect(storable.decode(le32)).toEqual([0x7ffffffe, 2.5]);
    const be64 = Uint8Array.from([
      0x04,
      0x0b,
      8,
      ...Buffer.from('87654321'),
      4,
      8,
      8,
      8,
      2,
      0,
      0,
      0,
      2, // SX_ARRAY, 2 (big-endian)
      6,
      0x00,
      0x20,
      0,
      0,
      0,
      0,
      0,
      1, // SX_INTEGER 2^53 + 1
      7,
      ...Buffer.from(new Float64Array([-0.75]).buffer).reverse(),
    ]);
    expect(storable.decode(be64)).toEqual([2n ** 53n + 1n, -0.75]);
  });

  it('refuses other majors and old magic with ERR_SHM_BAD_FORMAT', () => {
    for (const bytes of [
      [0x03, 0x00, 0x08, 0x81], // major 1 (Storable 0.6)
      [0x07, 0x00, 0x08, 0x81], // major 3
      [...Buffer.from('perl-store'), 0x01],
      [...Buffer.from('pst0'), 0x09, 0x00],
    ]) {
      const e = thrown(() => storable.decode(Uint8Array.from(bytes)));
      expect(e.code).toBe('ERR_SHM_BAD_FORMAT');
    }
    const e = thrown(() => storable.decode(Uint8Array.from([0x07, 0x00])));
    expect(e.message).toMatch(/binary format version 3/);
  });

  it('a perl with long doubles: images without doubles decode, a double is ERR_SHM_UNSERIALIZABLE', () => {
    const header = [0x04, 0x0b, 8, ...Buffer.from('12345678'), 4, 8, 8, 16];
    expect(storable.decode(Uint8Array.from([...header, 8, 0x85]))).toBe(5);
    const e = thrown(() => storable.decode(Uint8Array.from([...header, 7, ...new Array(16).fill(0)])));
    expect(e.code).toBe('ERR_SHM_UNSERIALIZABLE');
    expect(e.message).toMatch(/16-byte native double/);
  });
});

describe('freeze / nfreeze / thaw', () => {
  it('are storable.encode, a native encode and storable.decode', () => {
    expect(thaw(nfreeze({ a: 1 }))).toEqual({ a: 1 });
    expect(thaw(freeze({ a: 0.5 }))).toEqual({ a: 0.5 });
    expect(native.decode(nfreeze([1]))).toEqual([1]);
    expect(thaw(nfreeze(['x']), { byteStrings: 'buffer' })).toEqual([Buffer.from('x')]);
  });

  it('check their arguments and options', () => {
    expect(() => storable.decode('text' as any)).toThrow(TypeError);
    expect(() => createStorableSerializer({ byteOrder: 'big' as any })).toThrow(/'network' or 'native'/);
    expect(() => createStorableSerializer({ maxDepth: 0 })).toThrow(RangeError);
    expect(() => createStorableSerializer({ name: '' })).toThrow(TypeError);
    expect(() => bless(1 as any, 'X')).toThrow(TypeError);
    expect(() => bless({}, '')).toThrow(TypeError);
    expect(createStorableSerializer({ name: 'mine', id: 7 })).toMatchObject({ name: 'mine', id: 7 });
  });
});
