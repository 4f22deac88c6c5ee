export type { Kind } from './envelope.js';
export { removeAll } from './remove-all.js';
export { ScalarRef } from './scalar-ref.js';
export type { StoreProvider } from './store-provider.js';
export { isTied, tie, tied, untie } from './tie.js';
export type { TieOptions } from './tie-options.js';
export { Tied } from './tied.js';
