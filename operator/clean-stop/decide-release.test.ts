import {
  decideRemoval,
  findSuccessor,
  HAND_OVER_MARGIN_MS,
  handOverWaitMs,
  planRelease,
  pointsAt,
} from './decide-release.js';

const URL_ENDPOINT = { $case: 'url', url: 'https://127.0.0.1:9443' } as const;
const SERVICE_ENDPOINT = { $case: 'service' } as const;
const hook = (url: string | undefined) => ({ clientConfig: url === undefined ? {} : { url } });

describe('planRelease', () => {
  it('keeps the configurations of a Service endpoint: other replicas or the next rollout serve behind it', () => {
    expect(planRelease({ endpoint: SERVICE_ENDPOINT, retryPeriodMs: undefined, wasLeader: true })).toEqual({
      action: 'keep',
      reason: 'in-cluster',
    });
    expect(planRelease({ endpoint: SERVICE_ENDPOINT, retryPeriodMs: 2_000, wasLeader: true })).toEqual({
      action: 'keep',
      reason: 'in-cluster',
    });
  });

  it('keeps them when it registers none', () => {
    expect(planRelease({ endpoint: undefined, retryPeriodMs: undefined, wasLeader: true }).action).toBe('keep');
  });

  it('removes them in local mode without leader election: this replica is the only one', () => {
    expect(planRelease({ endpoint: URL_ENDPOINT, retryPeriodMs: undefined, wasLeader: true })).toEqual({
      action: 'remove',
    });
  });

  it('has a stopping leader wait for a successor, a retry period with its jitter and a margin', () => {
    expect(planRelease({ endpoint: URL_ENDPOINT, retryPeriodMs: 2_000, wasLeader: true })).toEqual({
      action: 'hand-over',
      withinMs: 2_000 * 2.2 + HAND_OVER_MARGIN_MS,
    });
  });

  it('has a stopping follower touch nothing: the configurations point at the leader', () => {
    expect(planRelease({ endpoint: URL_ENDPOINT, retryPeriodMs: 2_000, wasLeader: false })).toEqual({
      action: 'keep',
      reason: 'follower',
    });
  });
});

describe('handOverWaitMs', () => {
  it('outlasts a follower’s longest wait between tries', () => {
    expect(handOverWaitMs(1_000)).toBeGreaterThan(1_000 * 2.2);
  });
});

describe('findSuccessor', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['me', undefined],
    ['other', 'other'],
  ])('reads holder %j as successor %j', (holder, successor) => expect(findSuccessor(holder, 'me')).toBe(successor));
});

describe('decideRemoval', () => {
  const url = 'https://127.0.0.1:9443';

  it('deletes a configuration whose every webhook sends to us, on the version read', () => {
    const read = {
      resourceVersion: '42',
      webhooks: [hook(`${url}/mutate/fail`), hook(`${url}/mutate/ignore`)],
    };
    expect(decideRemoval(read, url)).toEqual({ action: 'delete', resourceVersion: '42' });
    expect(decideRemoval(read, `${url}/`)).toEqual({ action: 'delete', resourceVersion: '42' });
  });

  it('keeps one that another replica re-pointed, even partly', () => {
    const other = 'https://127.0.0.1:9555';
    expect(decideRemoval({ resourceVersion: '7', webhooks: [hook(`${other}/mutate/fail`)] }, url)).toEqual({
      action: 'keep',
      reason: 'points-elsewhere',
    });
    expect(
      decideRemoval({ resourceVersion: '7', webhooks: [hook(`${url}/mutate/fail`), hook(`${other}/x`)] }, url),
    ).toEqual({ action: 'keep', reason: 'points-elsewhere' });
  });

  it('keeps one that sends to a Service, or to a port that merely starts like ours', () => {
    expect(decideRemoval({ resourceVersion: '7', webhooks: [hook(undefined)] }, url).action).toBe('keep');
    expect(decideRemoval({ resourceVersion: '7', webhooks: [hook(`${url}0/mutate`)] }, url).action).toBe('keep');
  });

  it('deletes one without webhooks, which sends nowhere', () => {
    expect(decideRemoval({ resourceVersion: '3', webhooks: [] }, url)).toEqual({
      action: 'delete',
      resourceVersion: '3',
    });
  });

  it('keeps one without a resourceVersion: the delete could not be conditional', () => {
    expect(decideRemoval({ resourceVersion: undefined, webhooks: [] }, url).action).toBe('keep');
  });

  it('has nothing to do for one that is not there', () => {
    expect(decideRemoval(undefined, url)).toEqual({ action: 'absent' });
  });
});

describe('pointsAt', () => {
  it('is true while any webhook still sends to us', () => {
    const url = 'https://127.0.0.1:9443';
    expect(pointsAt({ resourceVersion: '1', webhooks: [hook('https://x:1/m'), hook(`${url}/m`)] }, url)).toBe(true);
    expect(pointsAt({ resourceVersion: '1', webhooks: [hook('https://x:1/m')] }, url)).toBe(false);
    expect(pointsAt(undefined, url)).toBe(false);
  });
});
