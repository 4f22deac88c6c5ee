import { fork } from 'node:child_process';
import type { NodeContender } from '../contender.js';
import type { Value } from '../payload.js';
import { messageEndpoint } from './message-endpoint.js';

/** `process.send` between parent and child with `serialization: 'advanced'` (the structured clone). */
export const processSendAdvanced: NodeContender = {
  runtime: 'node',
  id: 'process-send-advanced',
  label: 'process.send (advanced)',
  notes:
    "`serialization: 'advanced'` (V8's structured clone), which carries bytes as they are. Store, fetch and " +
    'hand-off as for the json variant.',
  forkPeer: (script, args, options) => fork(script, args, { ...options, serialization: 'advanced' }),
  open: ({ link, kind }) =>
    messageEndpoint(link, kind, {
      encode: (v) => v,
      decode: (w) =>
        w instanceof Uint8Array && !Buffer.isBuffer(w)
          ? Buffer.from(w.buffer, w.byteOffset, w.byteLength)
          : (w as Value),
    }),
};
