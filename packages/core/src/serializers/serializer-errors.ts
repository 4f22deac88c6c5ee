import { ShmError } from '@shm/native';

/** A short, safe description of a value's type for error messages: 'function', 'symbol', 'Map', 'BigInt'... */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  const t = typeof value;
  if (t === 'bigint') return 'BigInt';
  if (t !== 'object') return t;
  const name = (value as object).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : Object.prototype.toString.call(value).slice(8, -1);
}

/**
 * ShmError ERR_SHM_UNSERIALIZABLE: `serializer` cannot carry `value`. `why` replaces the default explanation;
 * `cause` is the encoder's own error, kept for debugging.
 */
export function unserializableError(
  serializer: string,
  value: unknown,
  why?: string,
  cause?: unknown,
): ShmError {
  const reason = why ?? `cannot encode a value of type ${describeType(value)}`;
  return new ShmError('ERR_SHM_UNSERIALIZABLE', `Serializer '${serializer}' ${reason}`, {
    target: serializer,
    cause,
  });
}

/** ShmError ERR_SHM_BAD_FORMAT: the bytes handed to `serializer`'s decode() are not something it wrote. */
export function badFormatError(serializer: string, detail: string, cause?: unknown): ShmError {
  return new ShmError(
    'ERR_SHM_BAD_FORMAT',
    `Serializer '${serializer}' cannot decode these bytes: ${detail}`,
    {
      target: serializer,
      cause,
    },
  );
}

/** The message of an unknown thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
