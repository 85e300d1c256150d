import { describe, expect, test } from 'vitest';
import { CURSORS, decodeCursor, encodeCursor, paginate } from '../../src/api/cursor.js';
import { toApiError } from '../../src/api/errors.js';
import { normalizeGitUrl } from '../../src/api/repo-locate.js';
import { parseKey } from '../../src/auth/keys.js';
import { decideTransition, TRANSITIONS, USER_ACTIONS } from '../../src/domain/project-lifecycle.js';
import { PROJECT_STATUSES } from '../../src/domain/states.js';
import { SamgitaError } from '../../src/errors.js';
import { signPayload, verifySignature } from '../../src/outgoing-webhooks/signature.js';
import { kindMatches } from '../../src/server/event-feed.js';
import { RateLimiter } from '../../src/server/rate-limit.js';

describe('project lifecycle table', () => {
  test('allowed transitions', () => {
    expect(decideTransition('running', 'pause')).toEqual({ ok: true, to: 'paused' });
    expect(decideTransition('paused', 'resume')).toEqual({ ok: true, to: 'running' });
    expect(decideTransition('failed', 'resume')).toEqual({ ok: true, to: 'running' });
    expect(decideTransition('paused', 'cancel')).toEqual({ ok: true, to: 'cancelled' });
    expect(decideTransition('completed', 'archive')).toEqual({ ok: true, to: 'archived' });
  });
  test('refused transitions say what is allowed', () => {
    const d = decideTransition('completed', 'resume');
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.message).toMatch(/cannot resume a project that is completed/);
      expect(d.hint).toMatch(/archive/);
    }
    const a = decideTransition('archived', 'cancel');
    expect(a.ok).toBe(false);
    if (!a.ok) expect(a.hint).toMatch(/no longer change/);
  });
  test('archived is terminal for people and every target is a known status', () => {
    // Only the GitHub App's restore (a repository added again) brings an archived project back.
    for (const a of USER_ACTIONS) expect(TRANSITIONS[a].from).not.toContain('archived');
    expect(Object.entries(TRANSITIONS).filter(([, t]) => t.from.includes('archived'))).toEqual([
      ['restore', expect.objectContaining({ to: 'pending' })],
    ]);
    for (const t of Object.values(TRANSITIONS)) expect(PROJECT_STATUSES).toContain(t.to);
  });
});

describe('webhook signatures', () => {
  test('round trip, tampering, tolerance', () => {
    const body = '{"id":1}';
    const now = 1_700_000_000;
    const header = signPayload('s3cret', body, now);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature('s3cret', header, body, 300, now + 10)).toBe(true);
    expect(verifySignature('s3cret', header, Buffer.from(body), 300, now)).toBe(true);
    expect(verifySignature('other', header, body, 300, now)).toBe(false);
    expect(verifySignature('s3cret', header, '{"id":2}', 300, now)).toBe(false);
    expect(verifySignature('s3cret', header, body, 300, now + 301)).toBe(false);
    expect(verifySignature('s3cret', undefined, body)).toBe(false);
    expect(verifySignature('s3cret', 't=abc,v1=zz', body)).toBe(false);
  });
});

describe('helpers', () => {
  test('cursor round trip and rejection', () => {
    const id = '8a1c3f0e-1b2c-4d5e-8f90-0123456789ab';
    expect(decodeCursor(encodeCursor([3, id]), CURSORS.priorityAndId)).toEqual([3, id]);
    expect(decodeCursor(undefined, CURSORS.priorityAndId)).toBeNull();
    expect(() => decodeCursor('garbage', CURSORS.priorityAndId)).toThrow(/cursor/);
    const p = paginate([1, 2, 3], 2, (n) => [n]);
    expect(p.data).toEqual([1, 2]);
    expect(decodeCursor(p.next_cursor ?? '', CURSORS.serialId)).toEqual([2]);
    const ts = '2026-12-01 04:05:06.123456+00';
    expect(decodeCursor(encodeCursor([ts, id]), CURSORS.timeAndId)).toEqual([ts, id]);
  });
  test.each([
    ['strings where a timestamp and uuid belong', ['x', 'y'], CURSORS.timeAndId],
    ['a number past int4', [1e20, '8a1c3f0e-1b2c-4d5e-8f90-0123456789ab'], CURSORS.priorityAndId],
    ['a bigint past exact doubles', [1e20], CURSORS.serialId],
    ['an impossible date', ['2026-13-45 99:99:99+00', '8a1c3f0e-1b2c-4d5e-8f90-0123456789ab'], CURSORS.timeAndId],
    ['a wrong arity', [1, 2], CURSORS.serialId],
  ])('a crafted cursor (%s) is a 400 before SQL', (_what, value, shape) => {
    expect(() => decodeCursor(encodeCursor(value), shape)).toThrow(/cursor is not one this server issued/);
  });
  test('git URL normalisation', () => {
    expect(normalizeGitUrl('git@github.com:Org/repo.git')).toBe('github.com/Org/repo');
    expect(normalizeGitUrl('https://GitHub.com/Org/repo')).toBe('github.com/Org/repo');
    expect(normalizeGitUrl('ssh://git@github.com/Org/repo.git/')).toBe('github.com/Org/repo');
    expect(normalizeGitUrl('file:///tmp/x/repo.git')).toBe('file:/tmp/x/repo');
  });
  test('key format', () => {
    expect(parseKey(`sg_${'a'.repeat(12)}_${'b'.repeat(64)}`)).toEqual({ prefix: 'a'.repeat(12) });
    expect(parseKey('sg_short_x')).toBeNull();
  });
  test('rate limiter', () => {
    const rl = new RateLimiter({ perSecond: 1, burst: 2 });
    expect(rl.take('k', 0)).toBe(0);
    expect(rl.take('k', 0)).toBe(0);
    expect(rl.take('k', 0)).toBeGreaterThan(0);
    expect(rl.take('k', 1000)).toBe(0);
    expect(rl.take('other', 0)).toBe(0);
  });
  test('kind filter', () => {
    expect(kindMatches('task.*', 'task.failed')).toBe(true);
    expect(kindMatches('task.*', 'project.paused')).toBe(false);
    expect(kindMatches(undefined, 'x')).toBe(true);
  });
  test('error mapping', () => {
    expect(toApiError(new SamgitaError('CONFLICT', 'no')).status).toBe(409);
    expect(toApiError({ statusCode: 413, message: 'big' }).body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(toApiError(new Error('boom'))).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'internal server error' } },
    });
    const v = toApiError({
      message: 'x',
      validation: [
        { instancePath: '', params: { missingProperty: 'name' }, message: "must have required property 'name'" },
      ],
      validationContext: 'body',
    });
    expect(v.body.error.field).toBe('name');
  });
});
