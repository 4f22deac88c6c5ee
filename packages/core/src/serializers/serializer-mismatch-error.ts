import { ShmError } from '@shm/native';
import { serializerName } from './known-serializers.js';

function label(id: number): string {
  const hex = `0x${(id >>> 0).toString(16).padStart(8, '0')}`;
  const name = serializerName(id);
  return name === undefined ? `an unknown serializer (id ${hex})` : `'${name}' (id ${hex})`;
}

/**
 * ShmError ERR_SHM_SERIALIZER_MISMATCH for a value recorded with serializer id `gotId` but read with `expectedId`,
 * e.g. "value was written with 'msgpack' (id 0x...), read with 'json' (id 0x...)". `target` is the key or name.
 */
export function serializerMismatchError(
  expectedId: number,
  gotId: number,
  options: { target?: string } = {},
): ShmError {
  const where = options.target === undefined ? '' : ` in ${options.target}`;
  return new ShmError(
    'ERR_SHM_SERIALIZER_MISMATCH',
    `Serializer mismatch${where}: value was written with ${label(gotId)}, read with ${label(expectedId)}; ` +
      'open it with the serializer that wrote it',
    options.target === undefined ? {} : { target: options.target },
  );
}
