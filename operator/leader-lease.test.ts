import {
  DEFAULT_LEASE_TIMING,
  decideLease,
  findLeaseExpiry,
  jitterRetryPeriod,
  releaseLease,
  validateLeaseTiming,
  type LeaseState,
} from './leader-lease.js';

const NOW = new Date('2026-11-25T10:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000);
const timing = { leaseDurationMs: 15_000 };

describe('decideLease', () => {
  describe('when there is no lease', () => {
    it('creates one held by me, acquired and renewed now, with no transitions', () => {
      expect(decideLease(undefined, 'me', NOW, timing)).toEqual({
        action: 'create',
        lease: {
          holderIdentity: 'me',
          leaseDurationSeconds: 15,
          acquireTime: NOW,
          renewTime: NOW,
          leaseTransitions: 0,
        },
      });
    });
  });

  describe('when I hold the lease', () => {
    const mine: LeaseState = {
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: ago(600),
      renewTime: ago(2),
      leaseTransitions: 3,
    };

    it('renews it, keeping acquireTime and leaseTransitions', () => {
      expect(decideLease(mine, 'me', NOW, timing)).toEqual({
        action: 'renew',
        lease: {
          holderIdentity: 'me',
          leaseDurationSeconds: 15,
          acquireTime: ago(600),
          renewTime: NOW,
          leaseTransitions: 3,
        },
      });
    });

    it('renews it even when its term has run out, as nobody else has written it since', () => {
      expect(decideLease({ ...mine, renewTime: ago(60) }, 'me', NOW, timing).action).toBe('renew');
    });

    it('writes its own lease duration, in whole seconds rounded up', () => {
      const decision = decideLease({ ...mine, leaseDurationSeconds: 60 }, 'me', NOW, { leaseDurationMs: 7_500 });
      expect(decision.action === 'renew' && decision.lease.leaseDurationSeconds).toBe(8);
    });

    it('sets acquireTime and leaseTransitions when the lease lacks them', () => {
      expect(decideLease({ holderIdentity: 'me', renewTime: ago(2) }, 'me', NOW, timing)).toEqual({
        action: 'renew',
        lease: {
          holderIdentity: 'me',
          leaseDurationSeconds: 15,
          acquireTime: NOW,
          renewTime: NOW,
          leaseTransitions: 0,
        },
      });
    });
  });

  describe('when another holds the lease and its term has not run out', () => {
    it('waits, and says until when', () => {
      const theirs: LeaseState = { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: ago(5) };
      expect(decideLease(theirs, 'me', NOW, timing)).toEqual({
        action: 'wait',
        holder: 'other',
        expiresAt: new Date(NOW.getTime() + 10_000),
      });
    });

    it("counts the holder's lease duration, not mine", () => {
      const theirs: LeaseState = { holderIdentity: 'other', leaseDurationSeconds: 60, renewTime: ago(30) };
      expect(decideLease(theirs, 'me', NOW, timing).action).toBe('wait');
    });

    it('counts my lease duration when the lease has none', () => {
      expect(decideLease({ holderIdentity: 'other', renewTime: ago(14) }, 'me', NOW, timing).action).toBe('wait');
      expect(decideLease({ holderIdentity: 'other', renewTime: ago(15) }, 'me', NOW, timing).action).toBe('acquire');
    });
  });

  describe('when another holds the lease and its term has run out', () => {
    const stale: LeaseState = {
      holderIdentity: 'other',
      leaseDurationSeconds: 15,
      acquireTime: ago(600),
      renewTime: ago(16),
      leaseTransitions: 4,
    };

    it('acquires it: acquired now, one more transition', () => {
      expect(decideLease(stale, 'me', NOW, timing)).toEqual({
        action: 'acquire',
        lease: {
          holderIdentity: 'me',
          leaseDurationSeconds: 15,
          acquireTime: NOW,
          renewTime: NOW,
          leaseTransitions: 5,
        },
      });
    });

    it('acquires it at the very instant renewTime + leaseDurationSeconds', () => {
      expect(decideLease({ ...stale, renewTime: ago(15) }, 'me', NOW, timing).action).toBe('acquire');
    });

    it('counts the first transition from a lease that has no leaseTransitions', () => {
      const decision = decideLease({ holderIdentity: 'other', renewTime: ago(16) }, 'me', NOW, timing);
      expect(decision.action === 'acquire' && decision.lease.leaseTransitions).toBe(1);
    });
  });

  describe('when another holds the lease and it has no renewTime', () => {
    it('acquires it, as nothing shows its holder is alive', () => {
      const decision = decideLease({ holderIdentity: 'other', leaseTransitions: 1 }, 'me', NOW, timing);
      expect(decision.action).toBe('acquire');
      expect(decision.action === 'acquire' && decision.lease.leaseTransitions).toBe(2);
    });

    it('waits when I saw it less than a lease duration ago', () => {
      expect(decideLease({ holderIdentity: 'other', observedAt: ago(5) }, 'me', NOW, timing)).toEqual({
        action: 'wait',
        holder: 'other',
        expiresAt: new Date(NOW.getTime() + 10_000),
      });
    });
  });

  describe('when I saw the lease at a time of my own (observedAt)', () => {
    it('waits a full term from then even though its renewTime is long past (their clock may be behind mine)', () => {
      const theirs: LeaseState = {
        holderIdentity: 'other',
        leaseDurationSeconds: 15,
        renewTime: ago(3600),
        observedAt: ago(1),
      };
      expect(decideLease(theirs, 'me', NOW, timing).action).toBe('wait');
    });

    it('acquires once a full term has passed since then, whatever renewTime says', () => {
      const theirs: LeaseState = {
        holderIdentity: 'other',
        leaseDurationSeconds: 15,
        renewTime: new Date(NOW.getTime() + 60_000),
        observedAt: ago(15),
      };
      expect(decideLease(theirs, 'me', NOW, timing).action).toBe('acquire');
    });
  });

  describe('when the lease was released (empty holderIdentity)', () => {
    it('acquires it at once, one more transition, though its renewTime is recent', () => {
      const released: LeaseState = {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: NOW,
        renewTime: NOW,
        leaseTransitions: 2,
        observedAt: NOW,
      };
      expect(decideLease(released, 'me', NOW, timing)).toEqual({
        action: 'acquire',
        lease: {
          holderIdentity: 'me',
          leaseDurationSeconds: 15,
          acquireTime: NOW,
          renewTime: NOW,
          leaseTransitions: 3,
        },
      });
    });

    it('acquires one that never had a holder', () => {
      expect(decideLease({}, 'me', NOW, timing).action).toBe('acquire');
    });
  });
});

describe('releaseLease', () => {
  describe('when I hold the lease', () => {
    it('empties the holder, shortens the term to one second and keeps leaseTransitions', () => {
      const mine: LeaseState = {
        holderIdentity: 'me',
        leaseDurationSeconds: 15,
        renewTime: ago(1),
        leaseTransitions: 7,
      };
      expect(releaseLease(mine, 'me', NOW)).toEqual({
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: NOW,
        renewTime: NOW,
        leaseTransitions: 7,
      });
    });
  });

  describe('when I do not hold the lease', () => {
    it('leaves it alone', () => {
      expect(releaseLease({ holderIdentity: 'other', renewTime: ago(1) }, 'me', NOW)).toBeUndefined();
      expect(releaseLease({ holderIdentity: '' }, 'me', NOW)).toBeUndefined();
      expect(releaseLease(undefined, 'me', NOW)).toBeUndefined();
    });
  });
});

describe('findLeaseExpiry', () => {
  describe('when the lease has neither observedAt nor renewTime', () => {
    it('has none', () => {
      expect(findLeaseExpiry({ holderIdentity: 'other', acquireTime: ago(1) }, timing)).toBeUndefined();
    });
  });
});

describe('validateLeaseTiming', () => {
  describe('when the timing is the default', () => {
    it('finds nothing wrong', () => {
      expect(validateLeaseTiming(DEFAULT_LEASE_TIMING)).toEqual([]);
    });
  });

  describe('when the timing breaks client-go’s rules', () => {
    it('names each broken rule', () => {
      expect(validateLeaseTiming({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toEqual([
        'leaseDurationMs must be greater than renewDeadlineMs',
      ]);
      expect(validateLeaseTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 })).toEqual([
        'renewDeadlineMs must be greater than 1.2 × retryPeriodMs',
      ]);
      expect(validateLeaseTiming({ leaseDurationMs: 500, renewDeadlineMs: 0, retryPeriodMs: 0 })).toHaveLength(4);
    });
  });
});

describe('jitterRetryPeriod', () => {
  describe('when given the ends of [0, 1)', () => {
    it('waits from one retry period up to 2.2 of them', () => {
      expect(jitterRetryPeriod(2_000, 0)).toBe(2_000);
      expect(jitterRetryPeriod(2_000, 1)).toBe(4_400);
    });
  });
});
