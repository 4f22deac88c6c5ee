import { isAnonymousId, isVariableId, type Space } from './tie-options.js';
import { isCode, VarNode } from './var-node.js';

/**
 * Releases `counts` references (removing anonymous variables left unreferenced, and what they referenced). A
 * variable that is corrupt (or a reference that is no variable id) is skipped: the write or removal that released
 * it has happened, and what the corrupt variable references cannot be known; removeAll() takes it away.
 */
export function releaseRefs(space: Space, counts: Map<string, number>, sign = -1): void {
  const work: [string, number][] = [...counts].map(([id, n]) => [id, sign * n]);
  while (work.length > 0) {
    const [id, delta] = work.pop()!;
    if (delta === 0 || !isAnonymousId(id) || !isVariableId(id)) continue;
    let node: VarNode | undefined;
    try {
      node = VarNode.open(id, space);
    } catch (e) {
      if (isCode(e, 'ERR_SHM_NOT_FOUND', 'ERR_SHM_BAD_FORMAT', 'ERR_SHM_SERIALIZER_MISMATCH')) continue;
      throw e;
    }
    if (!node || node.removed) continue;
    let doomed: Map<string, number> | undefined;
    try {
      doomed = node.changeLinks(delta);
    } catch (e) {
      if (isCode(e, 'ERR_SHM_NOT_FOUND', 'ERR_SHM_BAD_FORMAT', 'ERR_SHM_SERIALIZER_MISMATCH')) continue;
      throw e;
    }
    if (doomed) for (const [cid, n] of doomed) work.push([cid, -n]);
  }
}
