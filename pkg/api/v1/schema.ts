// The one source of the kyverno.io/v1 ClusterPolicy and Policy API: TypeScript types (types.ts), runtime
// validation (parse.ts) and the CRDs' OpenAPI schema (crd.ts, `make manifests`) all derive from these values.
// Field names, defaults and enums follow Kyverno's api/kyverno/v1 (see shared/reference/kyverno-verifyimages.md §1).
import {
  Type,
  type ObjectOptions,
  type SchemaOptions,
  type TLiteral,
  type TProperties,
  type TSchema,
  type TUnion,
} from '@sinclair/typebox';

const str = (description: string) => Type.String({ description });
const bool = (description: string, dflt?: boolean) =>
  Type.Boolean(dflt === undefined ? { description } : { description, default: dflt });
const strings = (description: string) => Type.Array(Type.String(), { description });
const opt = <T extends TSchema>(t: T) => Type.Optional(t);
const obj = <P extends TProperties>(description: string, properties: P, options: ObjectOptions = {}) =>
  Type.Object(properties, { description, ...options });
type TLiterals<V extends readonly string[]> = { -readonly [K in keyof V]: TLiteral<V[K]> };
/** A closed set of strings. The CRD generator turns the union of literals into a structural `enum`. */
const enumOf = <const V extends readonly string[]>(
  values: V,
  description: string,
  options: SchemaOptions = {},
): TUnion<TLiterals<V>> =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description, ...options },
  ) as unknown as TUnion<TLiterals<V>>;
/** A string map, e.g. annotations. */
const stringMap = (description: string) => Type.Record(Type.String(), Type.String(), { description });
/** Arbitrary JSON kept verbatim: bodies Imprimatur does not interpret (validate, mutate, generate, ...). */
const anyJson = (description: string) => Type.Unknown({ description, 'x-kubernetes-preserve-unknown-fields': true });
const anyObject = (description: string) =>
  Type.Record(Type.String(), Type.Unknown(), { description, 'x-kubernetes-preserve-unknown-fields': true });

// ---------------------------------------------------------------------------------------------------------------
// Selectors and match/exclude

const LabelSelector = obj('A label query over a set of resources (metav1.LabelSelector).', {
  matchLabels: opt(stringMap('Label key/value pairs that must all match.')),
  matchExpressions: opt(
    Type.Array(
      obj('A label selector requirement.', {
        key: str('The label key the selector applies to.'),
        operator: str('One of In, NotIn, Exists, DoesNotExist.'),
        values: opt(strings('Values for In and NotIn; empty for Exists and DoesNotExist.')),
      }),
      { description: 'Label selector requirements, ANDed.' },
    ),
  ),
});

export const OPERATIONS = ['CREATE', 'CONNECT', 'UPDATE', 'DELETE'] as const;

const ResourceDescription = obj('The resource properties a rule selects on.', {
  kinds: opt(strings('Resource kinds, optionally as group/version/kind; wildcards are allowed.')),
  name: opt(str('Deprecated: use names. A resource name; wildcards are allowed.')),
  names: opt(strings('Resource names; wildcards are allowed.')),
  namespaces: opt(strings('Namespaces; wildcards are allowed.')),
  annotations: opt(stringMap('Annotations the resource must carry; wildcards are allowed in keys and values.')),
  selector: opt({ ...LabelSelector, description: 'Labels the resource must carry.' }),
  namespaceSelector: opt({ ...LabelSelector, description: "Labels the resource's namespace must carry." }),
  operations: opt(
    Type.Array(enumOf(OPERATIONS, 'An admission operation.'), {
      description: 'Admission operations the rule applies to: CREATE, CONNECT, UPDATE, DELETE.',
    }),
  ),
});

const Subject = obj('A user, group or service account (rbacv1.Subject).', {
  kind: str('User, Group or ServiceAccount.'),
  apiGroup: opt(str('API group of the subject.')),
  name: str('Name of the subject.'),
  namespace: opt(str('Namespace of a ServiceAccount subject.')),
});

const userInfoFields = {
  subjects: opt(Type.Array(Subject, { description: 'Users, groups or service accounts that made the request.' })),
  roles: opt(strings('Namespaced roles of the requester, as namespace:name.')),
  clusterRoles: opt(strings('Cluster roles of the requester.')),
};

const ResourceFilter = obj('A resource filter: resource properties and requester information.', {
  resources: opt(ResourceDescription),
  ...userInfoFields,
});

const resourceFilters = (description: string) => Type.Array(ResourceFilter, { description });

const matchFields = {
  any: opt(resourceFilters('Filters of which at least one must match.')),
  all: opt(resourceFilters('Filters that must all match.')),
  resources: opt(ResourceDescription),
  ...userInfoFields,
};

export const MatchResources = obj(
  'Which resources a rule applies to: either any/all lists of filters, or the legacy inline resources and requester fields.',
  matchFields,
);

// ---------------------------------------------------------------------------------------------------------------
// Conditions

export const CONDITION_OPERATORS = [
  'Equals',
  'NotEquals',
  'In',
  'AnyIn',
  'AllIn',
  'NotIn',
  'AnyNotIn',
  'AllNotIn',
  'GreaterThanOrEquals',
  'GreaterThan',
  'LessThanOrEquals',
  'LessThan',
  'DurationGreaterThanOrEquals',
  'DurationGreaterThan',
  'DurationLessThanOrEquals',
  'DurationLessThan',
  // Deprecated aliases Kyverno still accepts.
  'Equal',
  'NotEqual',
] as const;

const Condition = obj('A condition: key and value compared with operator.', {
  key: opt(anyJson('The value to compare, usually a JMESPath expression such as "{{ repo.uri }}".')),
  operator: opt(enumOf(CONDITION_OPERATORS, 'How key and value are compared.')),
  value: opt(anyJson('The value to compare key against.')),
  message: opt(str('Message shown when the condition fails.')),
});

export const AnyAllConditions = obj('Conditions combined as any (OR) and all (AND).', {
  any: opt(Type.Array(Condition, { description: 'At least one of these conditions must hold.' })),
  all: opt(Type.Array(Condition, { description: 'All of these conditions must hold.' })),
});

// ---------------------------------------------------------------------------------------------------------------
// verifyImages

const Rekor = obj('Rekor transparency log settings.', {
  url: opt(str('The Rekor URL.')),
  pubkey: opt(str('PEM public key of a custom Rekor instance.')),
  ignoreTlog: opt(bool('Skip the transparency log check.')),
});

const CTLog = obj('Certificate transparency log settings.', {
  ignoreSCT: opt(bool('Skip the signed certificate timestamp check.')),
  pubkey: opt(str('PEM public key of a custom CT log.')),
  tsaCertChain: opt(str('PEM certificate chain of an RFC 3161 timestamp authority.')),
});

export const SIGNATURE_ALGORITHMS = ['sha224', 'sha256', 'sha384', 'sha512'] as const;

const StaticKeyAttestor = obj('Verification with static public keys.', {
  publicKeys: opt(str('One or more PEM-encoded public keys, concatenated.')),
  signatureAlgorithm: opt(
    Type.String({ description: 'Deprecated: the hash algorithm of the signature.', default: 'sha256' }),
  ),
  kms: opt(str('A cosign KMS key URI, e.g. awskms:// or hashivault://.')),
  secret: opt(
    obj('A Secret holding the public key under cosign.pub.', {
      name: str('Name of the Secret.'),
      namespace: str('Namespace of the Secret.'),
    }),
  ),
  rekor: opt(Rekor),
  ctlog: opt(CTLog),
});

const CertificateAttestor = obj('Verification with a certificate and chain.', {
  cert: opt(str('PEM-encoded signing certificate.')),
  certChain: opt(str('PEM-encoded certificate chain.')),
  rekor: opt(Rekor),
  ctlog: opt(CTLog),
});

const KeylessAttestor = obj('Keyless verification with Fulcio certificates.', {
  rekor: opt(Rekor),
  ctlog: opt(CTLog),
  issuer: opt(str('The OIDC issuer; wildcards are allowed.')),
  issuerRegExp: opt(str('A regular expression the OIDC issuer must match.')),
  subject: opt(str('The certificate subject; wildcards are allowed.')),
  subjectRegExp: opt(str('A regular expression the certificate subject must match.')),
  roots: opt(str('PEM-encoded root certificates.')),
  additionalExtensions: opt(stringMap('Certificate extensions that must match, keyed by name or OID.')),
});

const Attestor = obj('One way of verifying a signature: exactly one of keys, certificates, keyless or attestor.', {
  keys: opt(StaticKeyAttestor),
  certificates: opt(CertificateAttestor),
  keyless: opt(KeylessAttestor),
  attestor: opt(anyJson('A nested attestor set, with count and entries.')),
  annotations: opt(stringMap('Annotations that must be present in the signature payload.')),
  repository: opt(str('An alternate OCI repository holding the signatures.')),
  signatureAlgorithm: opt(Type.String({ description: 'The hash algorithm of the signature.', default: 'sha256' })),
});

export const AttestorSet = obj('A set of attestors of which count must verify.', {
  count: opt(
    Type.Integer({
      minimum: 1,
      description: 'How many entries must verify; all of them when unset.',
    }),
  ),
  entries: opt(Type.Array(Attestor, { description: 'The attestors.' })),
});

const attestorSets = (description: string) => Type.Array(AttestorSet, { description });

const Attestation = obj('An in-toto attestation that must be present and whose predicate must satisfy conditions.', {
  name: opt(str('The name under which the predicate is available to validate.deny conditions.')),
  predicateType: opt(str('Deprecated: use type. The in-toto predicate type.')),
  type: opt(str('The in-toto predicate type, e.g. https://slsa.dev/provenance/v1.')),
  attestors: opt(attestorSets('Attestors that must have signed the attestation.')),
  conditions: opt(Type.Array(AnyAllConditions, { description: 'Conditions evaluated against the predicate.' })),
});

export const FAILURE_ACTIONS = ['Audit', 'Enforce'] as const;
export const VERIFICATION_TYPES = ['Cosign', 'SigstoreBundle', 'Notary'] as const;
export const CREDENTIAL_PROVIDERS = ['default', 'amazon', 'azure', 'google', 'github'] as const;

export const ImageVerification = obj('Verifies the signatures and attestations of the images a resource uses.', {
  failureAction: opt(enumOf(FAILURE_ACTIONS, 'Audit or Enforce; overrides spec.validationFailureAction.')),
  type: opt(enumOf(VERIFICATION_TYPES, 'The signature format: Cosign (default), SigstoreBundle or Notary.')),
  image: opt(str('Deprecated: use imageReferences. An image pattern; * and ? are wildcards.')),
  imageReferences: opt(strings('Image patterns this entry applies to; * and ? are wildcards.')),
  skipImageReferences: opt(strings('Image patterns this entry skips; * and ? are wildcards.')),
  key: opt(str('Deprecated: use attestors. A PEM-encoded public key.')),
  roots: opt(str('Deprecated: use attestors. PEM-encoded roots for keyless verification.')),
  subject: opt(str('Deprecated: use attestors. The keyless certificate subject.')),
  issuer: opt(str('Deprecated: use attestors. The keyless OIDC issuer.')),
  additionalExtensions: opt(stringMap('Deprecated: use attestors. Keyless certificate extensions.')),
  attestors: opt(attestorSets('Attestor sets that must all verify the image signature.')),
  attestations: opt(Type.Array(Attestation, { description: 'Attestations that must be present and verified.' })),
  annotations: opt(stringMap('Deprecated: use attestors[].entries[].annotations.')),
  repository: opt(str('An alternate OCI repository holding the signatures and attestations.')),
  cosignOCI11: opt(bool('Look up signatures through the OCI 1.1 referrers API first.', false)),
  mutateDigest: opt(bool('Replace image tags with digests.', true)),
  verifyDigest: opt(bool('Require images to be referenced by digest.', true)),
  validate: opt(
    obj('Deny conditions evaluated across attestations.', {
      message: opt(str('Message shown when validation fails.')),
      deny: opt(obj('Deny the request when conditions hold.', { conditions: opt(anyJson('The deny conditions.')) })),
    }),
  ),
  required: opt(bool('Require a successful verification to be recorded on the resource.', true)),
  imageRegistryCredentials: opt(
    obj('Credentials for the image registries.', {
      allowInsecureRegistry: opt(bool('Allow plain HTTP registries.')),
      providers: opt(
        Type.Array(enumOf(CREDENTIAL_PROVIDERS, 'A credential provider.'), {
          description: 'Cloud credential providers: default, amazon, azure, google, github.',
        }),
      ),
      secrets: opt(strings('Image pull Secrets, as name or namespace/name.')),
    }),
  ),
  useCache: opt(bool('Cache verification results.', true)),
});

const ImageExtractorConfig = obj('Where to find images in a resource of another kind.', {
  path: str('Path to the image field, slash-separated; * expands arrays and maps.'),
  value: opt(str('Field holding the image below path; defaults to the value at path.')),
  name: opt(str('Name of the extractor; defaults to custom.')),
  key: opt(str('Field used as the image key.')),
  jmesPath: opt(str('A JMESPath expression applied to the extracted value.')),
});

// ---------------------------------------------------------------------------------------------------------------
// Rule, spec, status

export const Rule = obj(
  'A policy rule: match/exclude plus exactly one of validate, mutate, generate or verifyImages.',
  {
    name: Type.String({ description: 'Name of the rule, unique in the policy.', minLength: 1, maxLength: 63 }),
    context: opt(Type.Array(anyObject('A context entry.'), { description: 'Variables available to the rule.' })),
    match: MatchResources,
    exclude: opt({ ...MatchResources, description: 'Resources the rule does not apply to.' }),
    imageExtractors: opt(
      Type.Record(Type.String(), Type.Array(ImageExtractorConfig), {
        description: 'Image extractors by kind, for kinds other than Pod and the Pod controllers.',
      }),
    ),
    preconditions: opt(anyJson('Conditions that must hold for the rule to apply.')),
    celPreconditions: opt(Type.Array(anyObject('A CEL precondition.'), { description: 'CEL preconditions.' })),
    mutate: opt(anyObject('A mutate rule; kept as written.')),
    validate: opt(anyObject('A validate rule; kept as written.')),
    generate: opt(anyObject('A generate rule; kept as written.')),
    verifyImages: opt(Type.Array(ImageVerification, { description: 'Image verification entries.' })),
    skipBackgroundRequests: opt(bool('Skip requests made by background controllers.', true)),
    reportProperties: opt(stringMap('Properties added to policy reports.')),
  },
);

export const FAILURE_POLICIES = ['Ignore', 'Fail'] as const;
export const VALIDATION_FAILURE_ACTIONS = ['audit', 'enforce', 'Audit', 'Enforce'] as const;

export const PolicySpec = obj('The desired behaviour of the policy.', {
  rules: Type.Array(Rule, { description: 'The rules of the policy.' }),
  validationFailureAction: opt(
    enumOf(
      VALIDATION_FAILURE_ACTIONS,
      'Enforce blocks resources that fail; Audit admits them and reports. Lowercase values are deprecated.',
      { default: 'Audit' },
    ),
  ),
  validationFailureActionOverrides: opt(
    Type.Array(
      obj('A failure action for some namespaces.', {
        action: opt(enumOf(VALIDATION_FAILURE_ACTIONS, 'The failure action.')),
        namespaces: opt(strings('Namespaces, wildcards allowed.')),
        namespaceSelector: opt(LabelSelector),
      }),
      { description: 'Failure actions by namespace.' },
    ),
  ),
  background: opt(bool('Also apply the policy to existing resources.', true)),
  admission: opt(bool('Apply the policy at admission.', true)),
  emitWarning: opt(bool('Return admission warnings for rule results.', false)),
  failurePolicy: opt(
    enumOf(FAILURE_POLICIES, 'What happens when the webhook cannot decide: Fail (default) or Ignore.'),
  ),
  webhookTimeoutSeconds: opt(
    Type.Integer({
      minimum: 1,
      maximum: 30,
      description: 'Seconds the API server waits for the webhook, 1 to 30 (default 10).',
    }),
  ),
  webhookConfiguration: opt(
    obj('Webhook settings.', {
      failurePolicy: opt(enumOf(FAILURE_POLICIES, 'Fail or Ignore.')),
      timeoutSeconds: opt(Type.Integer({ minimum: 1, maximum: 30, description: 'Webhook timeout, 1 to 30 seconds.' })),
      matchConditions: opt(
        Type.Array(anyObject('A CEL match condition.'), { description: 'CEL match conditions for the webhook.' }),
      ),
    }),
  ),
  applyRules: opt(enumOf(['All', 'One'] as const, 'Apply all matching rules, or only the first one.')),
  schemaValidation: opt(bool('Deprecated.')),
  generateExisting: opt(bool('Generate for existing resources.')),
  generateExistingOnPolicyUpdate: opt(bool('Deprecated: use generateExisting.')),
  mutateExistingOnPolicyUpdate: opt(bool('Mutate existing resources when the policy changes.')),
  useServerSideApply: opt(bool('Use server-side apply for generate rules.')),
});

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

export const Condition_ = obj('A status condition (metav1.Condition).', {
  type: str('Type of the condition, e.g. Ready.'),
  status: enumOf(CONDITION_STATUSES, 'True, False or Unknown.'),
  observedGeneration: opt(Type.Integer({ minimum: 0, description: 'The generation the condition was computed for.' })),
  lastTransitionTime: Type.String({ format: 'date-time', description: 'When the status last changed.' }),
  reason: Type.String({ description: 'A machine-readable reason in PascalCase.', minLength: 1, maxLength: 1024 }),
  message: Type.String({ description: 'A human-readable message.', maxLength: 32768 }),
});

export const PolicyStatus = obj('The observed state of the policy.', {
  conditions: opt(
    Type.Array(Condition_, {
      description: 'Conditions; Ready tells whether the policy is compiled and enforced by the webhook.',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    }),
  ),
  rulecount: opt(
    obj('Number of rules by type, autogen rules excluded.', {
      validate: Type.Integer({ description: 'validate rules.' }),
      generate: Type.Integer({ description: 'generate rules.' }),
      mutate: Type.Integer({ description: 'mutate rules.' }),
      verifyimages: Type.Integer({ description: 'verifyImages rules.' }),
    }),
  ),
  autogen: opt(
    obj('Rules generated for Pod controllers.', {
      rules: opt(Type.Array(anyObject('A generated rule.'), { description: 'The generated rules.' })),
    }),
  ),
  ready: opt(bool('Deprecated: use conditions.')),
});

export const ObjectMeta = anyObject('Standard object metadata.');

export const Policy = obj('A Kyverno policy with rules that verify images, among others.', {
  apiVersion: opt(str('kyverno.io/v1')),
  kind: opt(str('ClusterPolicy or Policy.')),
  metadata: opt(ObjectMeta),
  spec: PolicySpec,
  status: opt(PolicyStatus),
});
