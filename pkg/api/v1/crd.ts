// Builds the CustomResourceDefinitions from the TypeBox schema (schema.ts). `make manifests` writes the result to
// crds/; a unit test fails when the committed files are stale.
import { stringify } from 'yaml';
import { GROUP, KIND_NAMES, SERVED_VERSIONS, VERSION, type PolicyKind } from './group-version.js';
import { Policy } from './schema.js';
import { PolicyV2beta1 } from './schema-v2beta1.js';

type JsonSchema = { [key: string]: unknown };

/**
 * Rewrites TypeBox's JSON Schema into a Kubernetes structural schema
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
 * a union of string literals becomes `enum`, a record becomes `additionalProperties`, and a node that keeps
 * unknown fields loses everything that would describe its content.
 */
export function toStructuralSchema(schema: unknown): JsonSchema {
  // TypeBox marks its schemas with symbol keys; a JSON round trip leaves plain JSON Schema.
  return rewrite(JSON.parse(JSON.stringify(schema)) as JsonSchema);
}

function rewrite(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  const anyOf = node['anyOf'];
  if (Array.isArray(anyOf) && anyOf.every((m: JsonSchema) => typeof m['const'] === 'string')) {
    out['type'] = 'string';
    out['enum'] = anyOf.map((m: JsonSchema) => m['const']);
    copy(node, out, ['description', 'default']);
    return out;
  }
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case '$id':
      case '$schema':
        break;
      case 'properties':
        out[key] = Object.fromEntries(
          Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, rewrite(v)]),
        );
        break;
      case 'items':
        out[key] = rewrite(value as JsonSchema);
        break;
      case 'patternProperties':
        if (!preserve) out['additionalProperties'] = rewrite(Object.values(value as Record<string, JsonSchema>)[0]!);
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}

function copy(from: JsonSchema, to: JsonSchema, keys: readonly string[]): void {
  for (const k of keys) if (from[k] !== undefined) to[k] = from[k];
}

const READY = '.status.conditions[?(@.type == "Ready")]';

// What an admin of an image-verification operator looks for first; the rest with -o wide. Kyverno shows FAILURE
// POLICY, VERIFY IMAGES and MESSAGE only with -o wide. Every version shows the same columns.
const PRINTER_COLUMNS = [
  { name: 'Ready', type: 'string', jsonPath: `${READY}.status` },
  { name: 'Failure Policy', type: 'string', jsonPath: '.spec.failurePolicy' },
  { name: 'Verify Images', type: 'integer', jsonPath: '.status.rulecount.verifyimages' },
  { name: 'Message', type: 'string', jsonPath: `${READY}.message` },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  { name: 'Admission', type: 'boolean', jsonPath: '.spec.admission', priority: 1 },
  { name: 'Background', type: 'boolean', jsonPath: '.spec.background', priority: 1 },
  { name: 'Validate', type: 'integer', jsonPath: '.status.rulecount.validate', priority: 1 },
  { name: 'Mutate', type: 'integer', jsonPath: '.status.rulecount.mutate', priority: 1 },
  { name: 'Generate', type: 'integer', jsonPath: '.status.rulecount.generate', priority: 1 },
];

const SCHEMAS: Readonly<Record<(typeof SERVED_VERSIONS)[number], unknown>> = { v1: Policy, v2beta1: PolicyV2beta1 };

/** The OpenAPI schema of one kind in one version. */
function versionSchema(kind: PolicyKind, version: (typeof SERVED_VERSIONS)[number]): JsonSchema {
  const openAPIV3Schema = toStructuralSchema(SCHEMAS[version]);
  // Only name and generateName may be constrained under metadata; say nothing else about it.
  (openAPIV3Schema['properties'] as JsonSchema)['metadata'] = { type: 'object' };
  openAPIV3Schema['description'] =
    kind === 'ClusterPolicy'
      ? 'ClusterPolicy declares rules that apply to resources in every namespace. Imprimatur enforces its verifyImages rules.'
      : 'Policy declares rules that apply to resources in its own namespace. Imprimatur enforces its verifyImages rules.';
  return openAPIV3Schema;
}

/** The CRD of one policy kind, as a plain object. */
export function buildCrd(kind: PolicyKind): JsonSchema {
  const names = KIND_NAMES[kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${names.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'imprimatur', 'app.kubernetes.io/part-of': 'imprimatur' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: names.kind,
        listKind: names.listKind,
        plural: names.plural,
        singular: names.singular,
        shortNames: [...names.shortNames],
        categories: ['kyverno'],
      },
      scope: names.scope,
      // The API server only rewrites apiVersion between versions: v2beta1's schema is a subset of v1's, so every
      // v2beta1 object is a valid v1 one, which the operator reads.
      conversion: { strategy: 'None' },
      versions: SERVED_VERSIONS.map((version) => ({
        name: version,
        served: true,
        storage: version === VERSION,
        subresources: { status: {} },
        additionalPrinterColumns: PRINTER_COLUMNS,
        schema: { openAPIV3Schema: versionSchema(kind, version) },
      })),
    },
  };
}

/** File name of a kind's CRD under crds/, in controller-gen's naming. */
export function crdFileName(kind: PolicyKind): string {
  return `${GROUP}_${KIND_NAMES[kind].plural}.yaml`;
}

/** The CRD of one policy kind as the YAML committed under crds/. */
export function renderCrdYaml(kind: PolicyKind): string {
  return (
    '# Generated by `make manifests` from pkg/api/v1/schema.ts. Do not edit.\n---\n' +
    stringify(buildCrd(kind), { lineWidth: 0 })
  );
}
