import { describe, expect, it } from 'vitest';
import { outputMatches, samplesOf } from '../src/samples.js';

const md = [
  '# Title', // 1
  '```ts', // 2
  "console.log('a');", // 3
  '```', // 4
  '', // 5
  '```text output', // 6
  'a', // 7
  '```', // 8
  '```js no-run: needs Windows', // 9
  'x();', // 10
  '```', // 11
  '```sh', // 12
  'npm install @shm/core', // 13
  '```', // 14
  '  ```sh run', // 15
  '  shm ls', // 16
  '  ```', // 17
  '<!-- generated:start -->', // 18
  '```ts', // 19
  'generated();', // 20
  '```', // 21
  '<!-- generated:end -->', // 22
  '```perl', // 23
  'print 1;', // 24
  '```', // 25
  '```ts', // 26
  'after();', // 27
  '```', // 28
  'text between', // 29
  '```text output', // 30
  'not attached', // 31
  '```', // 32
].join('\n');

describe('sample extraction', () => {
  const s = samplesOf('x.md', md);

  it('finds ts/js/sh blocks with their line, skips generated regions and other languages', () => {
    expect(s.map((x) => [x.line, x.lang])).toEqual([
      [2, 'ts'],
      [9, 'js'],
      [12, 'sh'],
      [15, 'sh'],
      [26, 'ts'],
    ]);
    expect(s[3]!.code).toBe('shm ls'); // indentation of a fence in a list item is removed
  });

  it('runs ts/js unless no-run (with its reason), and sh only when marked run', () => {
    expect(s.map((x) => x.run)).toEqual([true, false, false, true, true]);
    expect(s[1]!.noRun).toBe('needs Windows');
  });

  it('attaches an output block only when it directly follows', () => {
    expect(s[0]!.expectedOutput).toBe('a');
    expect(s[4]!.expectedOutput).toBeUndefined();
  });

  it('compares output line by line, with ... as a wildcard', () => {
    expect(outputMatches('pid ... done\nb', 'pid 123 done  \nb\n')).toBe(true);
    expect(outputMatches('a', 'a\nb')).toBe(false);
    expect(outputMatches('a.c', 'abc')).toBe(false);
  });
});
