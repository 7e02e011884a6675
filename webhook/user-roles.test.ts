import { grantOf, groupKey, indexBindings, subjectKey, toUserRoles, userKey, type SlimBinding } from './user-roles.js';

const rb = (namespace: string, roleRef: SlimBinding['roleRef'], subjects: SlimBinding['subjects']): SlimBinding => ({
  namespace,
  roleRef,
  subjects,
});
const crb = (roleRef: SlimBinding['roleRef'], subjects: SlimBinding['subjects']): SlimBinding => ({
  roleRef,
  subjects,
});
const role = (name: string) => ({ kind: 'Role', name });
const clusterRole = (name: string) => ({ kind: 'ClusterRole', name });
const user = (name: string) => ({ kind: 'User', name });
const group = (name: string) => ({ kind: 'Group', name });
const sa = (name: string, namespace?: string) => ({
  kind: 'ServiceAccount',
  name,
  ...(namespace ? { namespace } : {}),
});

const rolesOf = (username: string, groups: string[], bindings: SlimBinding[]) =>
  toUserRoles({ username, groups }, indexBindings(bindings));

describe('toUserRoles', () => {
  it('gives "<namespace>:<role>" for a RoleBinding to a Role naming the user', () => {
    expect(rolesOf('alice', [], [rb('team-a', role('dev'), [user('alice')])])).toEqual({
      roles: ['team-a:dev'],
      clusterRoles: [],
    });
  });

  it('gives the ClusterRole of a RoleBinding in any namespace, as Kyverno does', () => {
    const bindings = [
      rb('team-a', clusterRole('view'), [user('alice')]),
      rb('team-b', clusterRole('edit'), [user('alice')]),
    ];
    expect(rolesOf('alice', [], bindings)).toEqual({ roles: [], clusterRoles: ['edit', 'view'] });
  });

  it('gives the ClusterRole of a ClusterRoleBinding, and nothing for one to a Role', () => {
    const bindings = [crb(clusterRole('admin'), [user('alice')]), crb(role('odd'), [user('alice')])];
    expect(rolesOf('alice', [], bindings)).toEqual({ roles: [], clusterRoles: ['admin'] });
  });

  it('matches a User subject by username only, not by group', () => {
    const bindings = [rb('ns', role('r'), [user('devs')])];
    expect(rolesOf('alice', ['devs'], bindings)).toEqual({ roles: [], clusterRoles: [] });
    expect(rolesOf('devs', [], bindings).roles).toEqual(['ns:r']);
  });

  it('matches a Group subject by any of the groups, not by username', () => {
    const bindings = [rb('ns', role('r'), [group('devs')]), crb(clusterRole('c'), [group('system:authenticated')])];
    expect(rolesOf('alice', ['x', 'devs', 'system:authenticated'], bindings)).toEqual({
      roles: ['ns:r'],
      clusterRoles: ['c'],
    });
    expect(rolesOf('devs', [], bindings)).toEqual({ roles: [], clusterRoles: [] });
  });

  describe('a ServiceAccount subject', () => {
    it("defaults its namespace to the RoleBinding's", () => {
      const bindings = [rb('team-a', role('r'), [sa('builder')])];
      expect(rolesOf('system:serviceaccount:team-a:builder', [], bindings).roles).toEqual(['team-a:r']);
      expect(rolesOf('system:serviceaccount:team-b:builder', [], bindings).roles).toEqual([]);
    });

    it('uses its own namespace when it has one', () => {
      const bindings = [rb('team-a', role('r'), [sa('builder', 'ci')])];
      expect(rolesOf('system:serviceaccount:ci:builder', [], bindings).roles).toEqual(['team-a:r']);
      expect(rolesOf('system:serviceaccount:team-a:builder', [], bindings).roles).toEqual([]);
    });

    it('names no one in a ClusterRoleBinding without a namespace', () => {
      const bindings = [crb(clusterRole('c'), [sa('builder')]), crb(clusterRole('d'), [sa('builder', 'ci')])];
      expect(rolesOf('system:serviceaccount:ci:builder', [], bindings).clusterRoles).toEqual(['d']);
    });

    it('does not match a plain user of the same name', () => {
      expect(rolesOf('builder', [], [rb('team-a', role('r'), [sa('builder')])]).roles).toEqual([]);
    });
  });

  it('ignores subjects of other kinds and roleRefs of other kinds', () => {
    const bindings = [
      rb('ns', role('r'), [{ kind: 'Robot', name: 'alice' }]),
      rb('ns', { kind: 'Thing', name: 't' }, [user('alice')]),
    ];
    expect(rolesOf('alice', [], bindings)).toEqual({ roles: [], clusterRoles: [] });
  });

  it('de-duplicates and sorts', () => {
    const bindings = [
      rb('ns-b', role('z'), [user('alice'), group('devs')]),
      rb('ns-a', role('z'), [group('devs')]),
      rb('ns-a', role('z'), [user('alice')]),
      crb(clusterRole('view'), [group('devs'), group('ops')]),
      rb('ns-a', clusterRole('view'), [user('alice')]),
      crb(clusterRole('admin'), [user('alice')]),
    ];
    expect(rolesOf('alice', ['devs', 'ops', 'devs'], bindings)).toEqual({
      roles: ['ns-a:z', 'ns-b:z'],
      clusterRoles: ['admin', 'view'],
    });
  });

  it('asks the index once for the username and once per distinct group', () => {
    const asked: string[] = [];
    const result = toUserRoles(
      { username: 'alice', groups: ['a', 'b', 'a'] },
      { grants: (key) => (asked.push(key), key === groupKey('b') ? [{ kind: 'Role', name: 'ns:r' }] : []) },
    );
    expect(asked).toEqual([userKey('alice'), groupKey('a'), groupKey('b')]);
    expect(result.roles).toEqual(['ns:r']);
  });

  it('stays cheap for a user in many bindings among many more', () => {
    const bindings: SlimBinding[] = [];
    for (let i = 0; i < 20_000; i++) bindings.push(rb(`ns-${i}`, role('r'), [user(`user-${i}`)]));
    for (let i = 0; i < 2_000; i++) bindings.push(rb(`ns-${i}`, role('alice-role'), [user('alice')]));
    const index = indexBindings(bindings);
    const started = performance.now();
    for (let i = 0; i < 100; i++) toUserRoles({ username: 'bob', groups: ['g1', 'g2'] }, index);
    expect(performance.now() - started).toBeLessThan(100);
    expect(toUserRoles({ username: 'alice', groups: [] }, index).roles).toHaveLength(2_000);
  });
});

describe('subjectKey and grantOf', () => {
  it('keys a ServiceAccount by the username it stands for, like a User of that name', () => {
    expect(subjectKey(sa('b', 'ci'), 'x')).toBe(subjectKey(user('system:serviceaccount:ci:b'), 'x'));
    expect(subjectKey(sa('b'), undefined)).toBeUndefined();
    expect(subjectKey(group('g'), 'x')).toBe(groupKey('g'));
  });

  it('gives a Role only within a RoleBinding', () => {
    expect(grantOf(rb('ns', role('r'), []))).toEqual({ kind: 'Role', name: 'ns:r' });
    expect(grantOf(crb(role('r'), []))).toBeUndefined();
    expect(grantOf(crb(clusterRole('c'), []))).toEqual({ kind: 'ClusterRole', name: 'c' });
  });
});
