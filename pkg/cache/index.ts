export { toCacheKey, type CacheKey } from './cache-key.js';
export {
  DEFAULT_CACHE_MAX_ENTRIES,
  DEFAULT_CACHE_TTL_MS,
  VerificationCache,
  type Aborted,
  type Answer,
  type CacheStats,
  type Fail,
  type Outcome,
  type Pass,
  type Source,
  type VerificationCacheOptions,
  type Verify,
  type WaitOptions,
} from './verification-cache.js';
