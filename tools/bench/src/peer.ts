// Process B of a Node contender's pair, forked by the driver (process A): runs the side protocol's commands that
// arrive as `{ ctl, id }` IPC messages and answers `{ ctlResult: id, result }`. Usage: peer.ts <contender id>
import type { Link } from './contender.js';
import { contenderById } from './contenders/index.js';
import { NodeSide } from './node-side.js';

const contender = contenderById(process.argv[2] ?? '');
if (contender.runtime !== 'node') throw new Error(`${contender.id} is not a Node contender`);
const side = new NodeSide(contender, process as unknown as Link);
const send = (m: object) => new Promise<void>((resolve) => process.send!(m, () => resolve()));

process.on('message', (m: any) => {
  if (m?.ctl === undefined) return; // the contender's own messages (process.send contenders)
  void side
    .handle(m.ctl, () => send({ ctlStarted: m.id }))
    .then(async (result) => {
      await send({ ctlResult: m.id, result });
      if (m.ctl.cmd === 'exit') process.exit(0);
    });
});
// A is gone (it failed or was killed): B created nothing that outlives it, so it just leaves.
process.on('disconnect', () => process.exit(0));
await send({ ctlReady: true });
