import {
  badFormatError,
  describeType,
  expected,
  messageOf,
  protoKeyError,
  type Serializer,
  unserializableError,
} from '@shm/core';
import { Encoder, type Options } from 'cbor-x';

/**
 * Options that make a message depend on state outside its bytes (structure tables kept per Encoder instance or
 * in a store). Processes do not share that state, so a value written by one could not be read by another.
 */
const STATEFUL_OPTIONS = [
  'structures',
  'getStructures',
  'saveStructures',
  'sequential',
  'maxSharedStructures',
] as const;

/** cbor-x Encoder options, minus the stateful ones, plus the serializer's name and id. */
export interface CborSerializerOptions extends Omit<Options, (typeof STATEFUL_OPTIONS)[number]> {
  /** Recorded with each value (as a hash) so readers with other options get ERR_SHM_SERIALIZER_MISMATCH. Default: derived from useRecords/structuredClone. */
  name?: string;
  /** Fixed id (1..0xffffffff) instead of the hash of `name`. */
  id?: number;
}

/** 'cbor', 'cbor-records', 'cbor-sc' or 'cbor-records-sc'. */
function defaultName(records: boolean, structuredClone: boolean): string {
  return `cbor${records ? '-records' : ''}${structuredClone ? '-sc' : ''}`;
}

/**
 * A CBOR (RFC 8949) serializer backed by cbor-x.
 *
 * Defaults: `useRecords: false` (standard CBOR any language reads; Map, Set, Date, typed arrays and BigInt use
 * registered CBOR tags) and `copyBuffers: true` (decoded binaries never alias the shared bytes).
 * `structuredClone: true` adds cycles and shared references (tags 28/29). Records, when on, are self-describing.
 *
 * @throws TypeError for options that keep structures outside the message.
 */
export function createCborSerializer(options: CborSerializerOptions = {}): Serializer {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected an options object for options but received ${String(options)}`);
  }
  for (const key of STATEFUL_OPTIONS) {
    if ((options as Record<string, unknown>)[key] !== undefined) {
      throw new TypeError(
        `Expected no ${key} for options.${key}: shared cbor-x structures live in one process, so other ` +
          'processes could not decode the values',
      );
    }
  }
  const { name: givenName, id, ...encoderOptions } = options;
  if (id !== undefined && (!Number.isInteger(id) || id < 1 || id > 0xffffffff))
    throw expected('an integer in 1..0xffffffff', 'options.id', id, RangeError);
  const structuredClone = encoderOptions.structuredClone === true;
  const records = encoderOptions.useRecords === true;
  const name = givenName ?? defaultName(records, structuredClone);
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`Expected a non-empty string for options.name but received ${String(name)}`);
  }
  const encoder = new Encoder({ copyBuffers: true, ...encoderOptions, useRecords: records });

  const serializer: Serializer = {
    name,
    encode(value: unknown): Uint8Array {
      const t = typeof value;
      if (t === 'function' || t === 'symbol') throw unserializableError(name, value);
      let bytes: Uint8Array;
      try {
        bytes = encoder.encode(value);
      } catch (e) {
        let why = `cannot encode this ${describeType(value)}: ${messageOf(e)}`;
        if (e instanceof RangeError && /call stack/i.test(e.message)) {
          why = `cannot encode this ${describeType(value)}: it contains a cycle or is nested too deeply${structuredClone ? '' : ' (cycles need structuredClone: true)'}`;
        }
        throw unserializableError(name, value, why, e);
      }
      // cbor-x decodes an object's "__proto__" key as "__proto_" (a Map's keys are kept).
      const renamed = protoKeyError(name, value, bytes, false);
      if (renamed) throw renamed;
      return bytes;
    },
    decode(bytes: Uint8Array): unknown {
      if (!(bytes instanceof Uint8Array))
        throw expected('a Uint8Array (the bytes encode() made)', 'bytes', bytes);
      if (bytes.byteLength === 0) throw badFormatError(name, 'empty');
      try {
        return encoder.decode(bytes);
      } catch (e) {
        throw badFormatError(name, messageOf(e), e);
      }
    },
  };
  if (id !== undefined) Object.defineProperty(serializer, 'id', { value: id, enumerable: true });
  return serializer;
}
