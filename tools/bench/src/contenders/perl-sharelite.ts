import { fileURLToPath } from 'node:url';
import type { ExternalContender } from '../contender.js';
import { commandOutput } from '../versions.js';

const SIDE = fileURLToPath(new URL('./perl-sharelite-side.pl', import.meta.url));

/** The real Perl IPC::ShareLite (Debian's libipc-sharelite-perl): both processes are Perl. */
export const perlShareLite: ExternalContender = {
  runtime: 'external',
  id: 'perl-sharelite',
  label: 'IPC::ShareLite (Perl)',
  notes:
    'Both processes are Perl (perl-sharelite-side.pl), with the same loops as the Node sides. The segment size ' +
    "is set so each value fits one segment, as for @shm/sharelite. The object is frozen with Storable's " +
    "`freeze`/`thaw`, as the module's documentation does for structures. The hand-off polls `version()` and " +
    'fetches once it moves.',
  prepare: (names, kinds) => Object.fromEntries(kinds.map((k) => [k, names.key()])),
  command: () => ({ file: 'perl', args: [SIDE] }),
  versions: () => ({
    perl: commandOutput('perl', ['-e', 'printf "%vd", $^V']),
    'IPC::ShareLite': commandOutput('perl', ['-MIPC::ShareLite', '-e', 'print $IPC::ShareLite::VERSION']),
    Storable: commandOutput('perl', ['-MStorable', '-e', 'print $Storable::VERSION']),
  }),
};
