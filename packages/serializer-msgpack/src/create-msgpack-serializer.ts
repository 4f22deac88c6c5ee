import {
  badFormatError,
  describeType,
  type EncodedView,
  expected,
  messageOf,
  protoKeyError,
  type Serializer,
  unserializableError,
} from '@shm/core';
import { C1, type Options, Packr, RESET_BUFFER_MODE } from 'msgpackr';

/**
 * Options that make a message depend on state outside its bytes (structure tables kept per Packr instance or
 * in a store). Processes do not share that state, so a value written by one could not be read by another.
 */
const STATEFUL_OPTIONS = [
  'structures',
  'getStructures',
  'saveStructures',
  'sequential',
  'maxSharedStructures',
  'shouldShareStructure',
] as const;

/** msgpackr Packr options, minus the stateful ones, plus the serializer's name and id. */
export interface MsgpackSerializerOptions extends Omit<Options, (typeof STATEFUL_OPTIONS)[number]> {
  /** Recorded with each value (as a hash) so readers with other options get ERR_SHM_SERIALIZER_MISMATCH. Default: derived from useRecords/structuredClone. */
  name?: string;
  /** Fixed id (1..0xffffffff) instead of the hash of `name`. */
  id?: number;
}

/** Thrown by our writeFunction so a nested function is an error, not a silent undefined. */
class FunctionValueError extends Error {}

/**
 * The serializer name for a set of options: 'msgpack' (plain MessagePack), 'msgpack-records' (msgpackr records),
 * 'msgpack-sc' (structured clone, with records), 'msgpack-sc-norecords'.
 */
function defaultName(records: boolean, structuredClone: boolean): string {
  if (structuredClone) return records ? 'msgpack-sc' : 'msgpack-sc-norecords';
  return records ? 'msgpack-records' : 'msgpack';
}

/**
 * A MessagePack serializer backed by msgpackr.
 *
 * Defaults differ from msgpackr's own: `useRecords: false` (plain, interoperable MessagePack, the fastest for
 * small objects), `moreTypes: true` (Set, typed arrays, Error, RegExp via msgpackr extensions), `copyBuffers: true`
 * (decoded binaries never alias the shared bytes). `structuredClone: true` turns records on by default, because
 * without records a Map cannot be told apart from an object. Records, when on, are self-describing: each message
 * carries the definitions it uses, since processes do not share msgpackr's per-instance structure tables.
 *
 * @throws TypeError for options that keep structures outside the message (structures, getStructures,
 * saveStructures, sequential, maxSharedStructures, shouldShareStructure).
 */
export function createMsgpackSerializer(options: MsgpackSerializerOptions = {}): Serializer {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected an options object for options but received ${String(options)}`);
  }
  for (const key of STATEFUL_OPTIONS) {
    if ((options as Record<string, unknown>)[key] !== undefined) {
      throw new TypeError(
        `Expected no ${key} for options.${key}: shared msgpackr structures live in one process, so other ` +
          'processes could not decode the values; records stay available and are self-describing',
      );
    }
  }
  const { name: givenName, id, ...packrOptions } = options;
  if (id !== undefined && (!Number.isInteger(id) || id < 1 || id > 0xffffffff))
    throw expected('an integer in 1..0xffffffff', 'options.id', id, RangeError);
  const structuredClone = packrOptions.structuredClone === true;
  const records = packrOptions.useRecords === undefined ? structuredClone : packrOptions.useRecords !== false;
  const name = givenName ?? defaultName(records, structuredClone);
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`Expected a non-empty string for options.name but received ${String(name)}`);
  }

  // Packr mutates its options object, so it gets its own copy.
  const packr = new Packr({
    moreTypes: true,
    copyBuffers: true,
    writeFunction: () => {
      throw new FunctionValueError();
    },
    ...packrOptions,
    useRecords: packrOptions.useRecords ?? records,
  });

  const mapsAsObjects = (packr as { mapsAsObjects?: boolean }).mapsAsObjects === true;

  /** `mode` 0: a buffer of its own; RESET_BUFFER_MODE: a view of packr's buffer, which the next pack overwrites. */
  const pack = (value: unknown, mode: number): Uint8Array => {
    const t = typeof value;
    if (t === 'function' || t === 'symbol') throw unserializableError(name, value);
    let bytes: Uint8Array;
    try {
      bytes = packr.pack(value, mode);
    } catch (e) {
      throw unserializableError(name, value, encodeFailure(value, e, structuredClone), e);
    }
    // msgpackr decodes an object's "__proto__" key as "__proto_", and a Map's too when it makes Maps objects.
    const renamed = protoKeyError(name, value, bytes, mapsAsObjects);
    if (renamed) throw renamed;
    return bytes;
  };
  const view: EncodedView = { head: new Uint8Array(0), body: new Uint8Array(0) };

  const serializer: Serializer = {
    name,
    encode(value: unknown): Uint8Array {
      return pack(value, 0);
    },
    // Packs into packr's own buffer, rewound after each call, so that large values stop costing a fresh buffer
    // (and its page faults) per call: the bytes are overwritten by the next pack.
    encodeView(value: unknown): EncodedView {
      view.body = pack(value, RESET_BUFFER_MODE);
      return view;
    },
    decode(bytes: Uint8Array): unknown {
      if (!(bytes instanceof Uint8Array))
        throw expected('a Uint8Array (the bytes encode() made)', 'bytes', bytes);
      if (bytes.byteLength === 0) throw badFormatError(name, 'empty');
      let value: unknown;
      try {
        value = packr.unpack(bytes);
      } catch (e) {
        throw badFormatError(name, messageOf(e), e);
      }
      if (value === C1) throw badFormatError(name, 'the never-used byte 0xc1');
      return value;
    },
  };
  if (id !== undefined) Object.defineProperty(serializer, 'id', { value: id, enumerable: true });
  return serializer;
}

function encodeFailure(value: unknown, e: unknown, structuredClone: boolean): string {
  if (e instanceof FunctionValueError) return `cannot encode a function inside this ${describeType(value)}`;
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return structuredClone
      ? `cannot encode this ${describeType(value)}: nested too deeply`
      : `cannot encode this ${describeType(value)}: it contains a cycle or is nested too deeply (cycles need structuredClone: true)`;
  }
  return `cannot encode this ${describeType(value)}: ${messageOf(e)}`;
}
