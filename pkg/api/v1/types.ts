// TypeScript types of the kyverno.io/v1 policy API, derived from the schema (schema.ts) so they cannot drift.
import type { Static } from '@sinclair/typebox';
import type {
  AnyAllConditions,
  AttestorSet,
  Condition_,
  ImageVerification,
  MatchResources,
  Policy,
  PolicySpec,
  PolicyStatus,
  Rule,
} from './schema.js';

export type PolicyResource = Static<typeof Policy>;
export type PolicySpecType = Static<typeof PolicySpec>;
export type RuleType = Static<typeof Rule>;
export type ImageVerificationType = Static<typeof ImageVerification>;
export type AttestorSetType = Static<typeof AttestorSet>;
export type MatchResourcesType = Static<typeof MatchResources>;
export type AnyAllConditionsType = Static<typeof AnyAllConditions>;
export type PolicyStatusType = Static<typeof PolicyStatus>;
export type StatusCondition = Static<typeof Condition_>;
