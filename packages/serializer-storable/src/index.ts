export { createStorableSerializer } from './create-storable-serializer.js';
export type { StorableOptions } from './options.js';
export { bless, blessed, PERL_CLASS, PerlRef } from './perl-ref.js';
export { freeze, nfreeze, storable, thaw } from './storable.js';
