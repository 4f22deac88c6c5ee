/** "Expected <what> for <name> but received <value>" (the project's wording for bad arguments). */
export function expected(
  what: string,
  name: string,
  value: unknown,
  Ctor: typeof TypeError = TypeError,
): Error {
  return new Ctor(`Expected ${what} for ${name} but received ${describe(value)}`);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return String(v);
  return Object.prototype.toString.call(v);
}
