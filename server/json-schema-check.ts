// Checks a client's JSON schema before it reaches the grammar engine: it must be a valid JSON Schema (Ajv,
// draft 2020-12), and every keyword in it must be one that xgrammar enforces. A keyword xgrammar would skip
// (`not`, `uniqueItems`, `multipleOf`, …) is refused with a 400 naming it, never quietly dropped: output that
// is "valid by construction" must be valid against the whole schema.
//
// Measured with xgrammar 0.1.27's WebAssembly build (random walks over the mask, each output validated by Ajv):
// enforced: type, properties, required, additionalProperties, patternProperties, items, prefixItems, minItems,
// maxItems, enum, const, anyOf, oneOf (as anyOf), a single-entry allOf, $ref/$defs, minLength, maxLength, pattern,
// integer minimum/maximum/exclusive bounds. Not enforced: multipleOf, uniqueItems, not, if/then/else, contains,
// minProperties, allOf with several entries, and bounds on `number` (fractional bounds were crossed).
import { Ajv2020 } from 'ajv/dist/2020.js';
import { InvalidRequest } from '../engine/errors.js';
import type { Json } from '../grammar/spec.js';

/** Keywords that only annotate. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'examples',
  '$schema',
  '$id',
  '$comment',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$anchor',
]);
const ENFORCED = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'patternProperties',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'allOf',
  '$ref',
  '$defs',
  'definitions',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
]);
/** String formats xgrammar constrains (to their syntax; e.g. a date's day is not checked against its month). */
const FORMATS = new Set([
  'date-time',
  'date',
  'time',
  'duration',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'uuid',
  'uri',
  'uri-reference',
]);
const BOUNDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'];
/** Keywords whose value maps names to subschemas, and those holding one subschema or a list of them. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions']);
const SUBSCHEMAS = new Set(['items', 'additionalProperties', 'anyOf', 'oneOf', 'allOf', 'prefixItems']);

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: false });

const isObject = (v: Json | undefined): v is { [key: string]: Json } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Throws InvalidRequest (param `param`) unless `schema` is a valid JSON schema made of enforced keywords. */
export function checkJsonSchema(schema: Json, param: string): void {
  if (!isObject(schema) && typeof schema !== 'boolean')
    throw new InvalidRequest('The JSON schema must be an object.', param);
  try {
    // `$schema` only names a draft (clients send draft-07's); the schema is read as draft 2020-12 either way.
    const { $schema: _draft, ...body } = isObject(schema) ? schema : {};
    ajv.compile(isObject(schema) ? body : schema);
  } catch (err) {
    throw new InvalidRequest(`Invalid JSON schema: ${(err as Error).message}`, param);
  }
  walk(schema, param, '#');
}

function walk(schema: Json, param: string, at: string): void {
  if (!isObject(schema)) return;
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key)) continue;
    if (!ENFORCED.has(key)) throw unsupported(`'${key}'`, param, at);
    if (key === 'allOf' && Array.isArray(value) && value.length > 1)
      throw unsupported("'allOf' with more than one schema", param, at);
    if (key === 'format' && !FORMATS.has(String(value))) throw unsupported(`format '${String(value)}'`, param, at);
    if (BOUNDS.includes(key) && schema['type'] !== 'integer')
      throw unsupported(`'${key}' on a non-integer type`, param, at);
    if (SCHEMA_MAPS.has(key) && isObject(value)) {
      for (const [name, sub] of Object.entries(value)) walk(sub, param, `${at}/${key}/${name}`);
    } else if (SUBSCHEMAS.has(key)) {
      if (Array.isArray(value)) value.forEach((sub, i) => walk(sub, param, `${at}/${key}/${i}`));
      else walk(value, param, `${at}/${key}`);
    }
  }
}

function unsupported(what: string, param: string, at: string): InvalidRequest {
  return new InvalidRequest(
    `JSON schema keyword ${what} at ${at} is not supported by constrained decoding (xgrammar would not enforce it).`,
    param,
    'unsupported_schema',
  );
}
