// What a request constrains its output to, in the vocabulary of the xgrammar call that compiles it. The server
// builds these from response_format, structured_outputs / guided_*, and tools; the grammar worker compiles them.
//
// `grammarKey` is the canonical text of a spec: two requests with equal keys share one compiled grammar.

/** A JSON value as parsed from a request body. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type GrammarSpec =
  /** Any JSON object (response_format json_object). */
  | { readonly kind: 'json_object' }
  | { readonly kind: 'json_schema'; readonly schema: Json }
  /** xgrammar's EBNF dialect (GBNF-like): `root ::= ...`. */
  | { readonly kind: 'ebnf'; readonly grammar: string }
  | { readonly kind: 'regex'; readonly pattern: string }
  /** An xgrammar structural tag (`{type: "structural_tag", format: {...}}`), e.g. tool calls with their schemas. */
  | { readonly kind: 'structural_tag'; readonly tag: Json };

/** JSON text with object keys sorted, so equal values give equal text whatever the client's key order. */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(',')}}`;
}

export function grammarKey(spec: GrammarSpec): string {
  switch (spec.kind) {
    case 'json_object':
      return 'json_object';
    case 'json_schema':
      return `json_schema:${canonicalJson(spec.schema)}`;
    case 'ebnf':
      return `ebnf:${spec.grammar}`;
    case 'regex':
      return `regex:${spec.pattern}`;
    case 'structural_tag':
      return `structural_tag:${canonicalJson(spec.tag)}`;
  }
}
