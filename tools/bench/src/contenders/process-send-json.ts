import { fork } from 'node:child_process';
import type { NodeContender } from '../contender.js';
import type { Value } from '../payload.js';
import { messageEndpoint } from './message-endpoint.js';

/** `process.send` between parent and child with the default serialization (JSON). */
export const processSendJson: NodeContender = {
  runtime: 'node',
  id: 'process-send-json',
  label: 'process.send (json)',
  notes:
    "The default `serialization: 'json'`, which would turn a Buffer into a JSON array of numbers: bytes travel " +
    'as base64 strings instead (encoded by the sender, decoded by the receiver; both counted). Store: the value ' +
    "sent to the other process, paced by `send`'s callback, and the loop ends when the other process has all of " +
    'them. Fetch: ask the process holding the latest value and wait for its answer (a round trip). Hand-off: ' +
    'the value itself travels both ways.',
  forkPeer: (script, args, options) => fork(script, args, { ...options, serialization: 'json' }),
  open: ({ link, kind }) =>
    messageEndpoint(link, kind, {
      encode: (v) =>
        v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : v,
      decode: (w) => (typeof w === 'string' ? Buffer.from(w, 'base64') : (w as Value)),
    }),
};
