// The kyverno.io/v2beta1 schema of ClusterPolicy and Policy, derived from the v1 one (schema.ts). Kyverno serves both
// versions from the same CRDs with v1 stored and no conversion (strategy None): the API server only rewrites
// apiVersion, so v2beta1 may accept nothing that v1 does not. It is v1 without what Kyverno's api/kyverno/v2beta1
// drops (kyverno-verifyimages.md, "API versions"):
//   - in a verifyImages entry, the deprecated fields: image, key, roots, subject, issuer, additionalExtensions,
//     annotations, and cosignOCI11;
//   - in match and exclude, the legacy inline resources, subjects, roles and clusterRoles: only any and all remain;
//   - preconditions are any/all blocks of conditions, without the deprecated operators (In, NotIn, Equal, NotEqual)
//     or the legacy plain list.
// The operator reads v1 only: a v2beta1 object is served as v1 too, and parse.ts judges it there.
import { Type } from '@sinclair/typebox';
import {
  AnyAllConditions,
  CONDITION_OPERATORS,
  ImageVerification,
  MatchResources,
  ObjectMeta,
  Policy,
  PolicySpec,
  PolicyStatus,
  Rule,
} from './schema.js';

/** What v2beta1's ImageVerification leaves out of v1's. */
export const V1_ONLY_IMAGE_VERIFICATION_FIELDS = [
  'image',
  'key',
  'roots',
  'subject',
  'issuer',
  'additionalExtensions',
  'annotations',
  'cosignOCI11',
] as const;

const DEPRECATED_OPERATORS: ReadonlySet<string> = new Set(['In', 'NotIn', 'Equal', 'NotEqual']);

const ImageVerificationV2beta1 = Type.Omit(ImageVerification, [...V1_ONLY_IMAGE_VERIFICATION_FIELDS], {
  description: ImageVerification.description,
});

const MatchResourcesV2beta1 = Type.Object(
  { any: MatchResources.properties.any, all: MatchResources.properties.all },
  { description: 'Which resources a rule applies to: any/all lists of filters.' },
);

const v1Condition = AnyAllConditions.properties.any.items;
const PreconditionV2beta1 = Type.Object(
  {
    ...v1Condition.properties,
    operator: Type.Optional(
      Type.Union(
        CONDITION_OPERATORS.filter((o) => !DEPRECATED_OPERATORS.has(o)).map((o) => Type.Literal(o)),
        { description: 'How key and value are compared.' },
      ),
    ),
  },
  { description: v1Condition.description },
);

const PreconditionsV2beta1 = Type.Object(
  {
    any: Type.Optional(Type.Array(PreconditionV2beta1, { description: 'At least one of these conditions must hold.' })),
    all: Type.Optional(Type.Array(PreconditionV2beta1, { description: 'All of these conditions must hold.' })),
  },
  { description: 'Conditions that must hold for the rule to apply, combined as any (OR) and all (AND).' },
);

const RuleV2beta1 = Type.Object(
  {
    ...Rule.properties,
    match: MatchResourcesV2beta1,
    exclude: Type.Optional({ ...MatchResourcesV2beta1, description: 'Resources the rule does not apply to.' }),
    preconditions: Type.Optional(PreconditionsV2beta1),
    verifyImages: Type.Optional(Type.Array(ImageVerificationV2beta1, { description: 'Image verification entries.' })),
  },
  { description: Rule.description },
);

const PolicySpecV2beta1 = Type.Object(
  { ...PolicySpec.properties, rules: Type.Array(RuleV2beta1, { description: 'The rules of the policy.' }) },
  { description: PolicySpec.description },
);

export const PolicyV2beta1 = Type.Object(
  {
    apiVersion: Type.Optional(Type.String({ description: 'kyverno.io/v2beta1' })),
    kind: Policy.properties.kind,
    metadata: Type.Optional(ObjectMeta),
    spec: PolicySpecV2beta1,
    status: Type.Optional(PolicyStatus),
  },
  { description: Policy.description },
);
