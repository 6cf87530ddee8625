// The JSON Schema view of the zod schema: allowed keys for "did you mean", and the source the
// CRD and the field reference are generated from.
import { z } from 'zod';
import type { FieldPath } from './errors.ts';
import { canaryPolicy } from './schema.ts';

export interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  [keyword: string]: unknown;
}

let cached: JsonSchema | undefined;

/** The CanaryPolicy schema as it is written (io: input), in OpenAPI 3.0 flavour. */
export function policyJsonSchema(): JsonSchema {
  cached ??= z.toJSONSchema(canaryPolicy, {
    target: 'openapi-3.0',
    io: 'input',
    unrepresentable: 'any',
    reused: 'inline',
  }) as JsonSchema;
  return cached;
}

/** The schema of the field at a path (array indices step into items), if there is one. */
export function schemaAt(path: FieldPath, root: JsonSchema = policyJsonSchema()): JsonSchema | undefined {
  let schema: JsonSchema | undefined = root;
  for (const segment of path) {
    if (schema === undefined) return undefined;
    schema = typeof segment === 'number' ? schema.items : schema.properties?.[segment];
  }
  return schema;
}

export function allowedKeys(path: FieldPath): string[] {
  return Object.keys(schemaAt(path)?.properties ?? {});
}
