import { z } from 'zod';

/**
 * Building blocks for the settings schema: each key carries its zod type, default, a one-line
 * description, its section and a human label of the expected type (used in error messages and
 * in the generated docs, so both say the same thing).
 */
export type KeyKind = 'string' | 'integer' | 'number' | 'boolean' | 'enum';

export interface KeySpec<T = unknown> {
  readonly kind: KeyKind;
  readonly schema: z.ZodType<T>;
  readonly default: T;
  readonly description: string;
  readonly section: string;
  /** What the value must be, in words: "integer ≥ 1", "one of "earliest", "latest"". */
  readonly expected: string;
}

interface Common {
  section: string;
  description: string;
}

export function str(
  def: string,
  c: Common & { minLength?: number; pattern?: RegExp; patternHint?: string },
): KeySpec<string> {
  let schema = z.string();
  if (c.minLength !== undefined) schema = schema.min(c.minLength);
  if (c.pattern) schema = schema.regex(c.pattern);
  const expected =
    c.patternHint ??
    (c.minLength !== undefined && c.minLength > 0
      ? `string of at least ${c.minLength} character${c.minLength === 1 ? '' : 's'}`
      : 'string');
  return { kind: 'string', schema, default: def, expected, section: c.section, description: c.description };
}

export function int(def: number, c: Common & { min?: number; max?: number }): KeySpec<number> {
  let schema = z.number().int();
  if (c.min !== undefined) schema = schema.min(c.min);
  if (c.max !== undefined) schema = schema.max(c.max);
  return {
    kind: 'integer',
    schema,
    default: def,
    expected: rangeLabel('integer', c.min, c.max),
    section: c.section,
    description: c.description,
  };
}

export function num(def: number, c: Common & { min?: number; max?: number }): KeySpec<number> {
  let schema = z.number().refine(Number.isFinite, 'must be finite');
  if (c.min !== undefined) schema = schema.refine((v) => v >= c.min!, `must be ≥ ${c.min}`);
  if (c.max !== undefined) schema = schema.refine((v) => v <= c.max!, `must be ≤ ${c.max}`);
  return {
    kind: 'number',
    schema,
    default: def,
    expected: rangeLabel('number', c.min, c.max),
    section: c.section,
    description: c.description,
  };
}

export function bool(def: boolean, c: Common): KeySpec<boolean> {
  return {
    kind: 'boolean',
    schema: z.boolean(),
    default: def,
    expected: 'boolean',
    section: c.section,
    description: c.description,
  };
}

export function oneOf<const V extends readonly [string, ...string[]]>(
  values: V,
  def: V[number],
  c: Common,
): KeySpec<V[number]> {
  return {
    kind: 'enum',
    schema: z.enum(values),
    default: def,
    expected: `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`,
    section: c.section,
    description: c.description,
  };
}

function rangeLabel(base: string, min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return `${base} between ${min} and ${max}`;
  if (min !== undefined) return `${base} ≥ ${min}`;
  if (max !== undefined) return `${base} ≤ ${max}`;
  return base;
}
