import { describe, expect, it } from 'vitest';
import { prBody, verifyLine } from '../../src/github/pr-body.js';
import { asVerified, verifyRecord } from '../../src/runner/decide/verify.js';
import type { PublishInput } from '../../src/runner/publisher.js';

describe('verifyRecord: what the Verify step records', () => {
  it('passed only when commands ran and passed, with the commands', () => {
    expect(verifyRecord(['npm test'], true, '')).toEqual({
      passed: true,
      status: 'passed',
      summary: 'all verify commands passed',
      commands: ['npm test'],
    });
    expect(verifyRecord(['npm test'], false, 'Verify step `test` exited with 1')).toEqual({
      passed: false,
      status: 'failed',
      summary: 'Verify step `test` exited with 1',
      commands: ['npm test'],
    });
  });

  it('unverified when there was nothing to run, whatever the run said', () => {
    const unverified = {
      passed: false,
      status: 'unverified',
      summary: 'no verify command configured or found',
      commands: [],
    };
    expect(verifyRecord([], true, '')).toEqual(unverified);
    expect(verifyRecord([], false, '')).toEqual(unverified);
  });

  it('asVerified: a passed record stays passed; no record is unverified; an old passed record is taken at its word', () => {
    expect(asVerified(verifyRecord(['make test'], true, ''))).toMatchObject({ passed: true, status: 'passed' });
    expect(asVerified(verifyRecord([], true, ''))).toMatchObject({ passed: false, status: 'unverified' });
    expect(asVerified(null)).toMatchObject({ passed: false, status: 'unverified', commands: [] });
    expect(asVerified({ passed: true, summary: 'all verify commands passed' })).toMatchObject({ status: 'passed' });
  });
});

describe('pull request body', () => {
  const input = (verify: PublishInput['verify']): PublishInput => ({
    projectId: 'p',
    taskId: 't',
    taskKey: 'development/fr-1',
    title: 'Greet',
    description: 'Greets',
    agentType: 'eng-backend',
    branch: 'samgita/fr-1',
    baseBranch: 'main',
    worktree: '/tmp/x',
    headSha: null,
    verify,
    costUsd: 0.01,
    tokens: 100,
  });

  it('names the commands of a passing verify', () => {
    const body = prBody(input(verifyRecord(['npm test', 'npm run lint'], true, '')), { taskUrl: null });
    expect(body).toContain('### Verify\n✅ passed: `npm test`, `npm run lint`');
  });

  it('says unverified plainly, never passed', () => {
    const line = verifyLine(verifyRecord([], true, ''));
    expect(line).toMatch(/^⚠️ unverified: no verify command configured or found, so nothing checked this work/);
    expect(line).not.toMatch(/pass/i);
    expect(prBody(input(verifyRecord([], true, '')), { taskUrl: null })).not.toMatch(/Verify[\s\S]*passed/);
  });

  it('shows a failure, and an old record without a status by its passed flag', () => {
    expect(verifyLine(verifyRecord(['npm test'], false, 'exited with 1'))).toBe('❌ failed: exited with 1');
    expect(verifyLine({ passed: true, summary: 'all verify commands passed' })).toBe(
      '✅ passed: all verify commands passed',
    );
  });
});
