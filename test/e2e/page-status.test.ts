import { mkdtempSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type PageServer, type Seed, seedStatusPage, startPageServer } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { mustSkip } from '../support/system-requirements.js';

// Screenshots go to docs/screenshots only when asked (SAMGITA_SCREENSHOTS=docs/screenshots),
// so a test run never rewrites tracked files.
const SHOTS = process.env.SAMGITA_SCREENSHOTS
  ? path.resolve(process.env.SAMGITA_SCREENSHOTS)
  : mkdtempSync(path.join(os.tmpdir(), 'samgita-shots-'));
// Without Chromium (or the built page) these skip, loudly (test/support/system-requirements.ts); in CI they fail.
describe.skipIf(mustSkip('test/e2e/page-status.test.ts'))('status page in Chromium', () => {
  let db: TestDatabase;
  let server: PageServer;
  let seed: Seed;
  let browser: { context: BrowserContext; close(): Promise<void> };
  let page: Page;

  const shot = (name: string, p: Page = page) =>
    p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
  const go = async (p: string) => {
    await page.evaluate((to) => {
      history.pushState(null, '', to);
      dispatchEvent(new PopStateEvent('popstate'));
    }, p);
  };
  /** Marks the window: a reload would lose it. */
  const markWindow = () => page.evaluate(() => Object.assign(window, { __noReload: 1 }));
  const notReloaded = async () =>
    expect(await page.evaluate(() => (window as { __noReload?: number }).__noReload)).toBe(1);
  const event = (projectId: string, kind: string, subjectType: string, subjectId: string) =>
    db.pool.query(
      `insert into events (project_id, kind, subject_type, subject_id, actor_type) values ($1, $2, $3, $4, 'runner')`,
      [projectId, kind, subjectType, subjectId],
    );

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    db = await createTestDatabase();
    seed = await seedStatusPage(db.pool);
    server = await startPageServer(db.pool);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('dialog', (d) => void d.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await db?.drop();
  });

  it('serves hashed assets with long caching and the page with no-cache', async () => {
    const res = await fetch(`${server.url}/ui/`, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    const js = /src="(\/assets\/app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    expect(js).toBeTruthy();
    const asset = await fetch(`${server.url}${js}`);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(asset.headers.get('content-type')).toContain('javascript');
    // SPA fallback for deep links.
    expect((await fetch(`${server.url}/ui/projects/${seed.shop}/tasks`)).status).toBe(200);
    expect((await fetch(`${server.url}/assets/nope.js`)).status).toBe(404);
  });

  it('asks for an API key, rejects a wrong one and signs in with a session cookie', async () => {
    await page.goto(`${server.url}/ui/`);
    await page.getByLabel('API key').waitFor();
    await shot('signin');
    await page.getByLabel('API key').fill('sg_000000000000_' + '0'.repeat(64));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#signin-error').textContent()).toContain('not valid');
    await page.getByLabel('API key').fill(server.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    const cookie = (await browser.context.cookies()).find((c) => c.name === 'samgita_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    // The API accepts the cookie for reads, and for writes only with the page's header.
    const viaCookie = await page.evaluate(async () => (await fetch('/api/projects')).status);
    expect(viaCookie).toBe(200);
    const csrf = await page.evaluate(
      async (id) => (await fetch(`/api/projects/${id}/pause`, { method: 'POST' })).status,
      seed.docs,
    );
    expect(csrf).toBe(401);
  });

  it('lists projects with status, phase, progress and cost, and updates live', async () => {
    const row = page.locator(`tr[data-project-id="${seed.shop}"]`);
    await row.waitFor();
    await expect.poll(() => row.textContent()).toContain('$18.42');
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('Acme Shop');
    expect(text).toContain('running');
    expect(text).toContain('development');
    expect(text).toContain('4/10');
    expect(await page.locator('tbody tr').count()).toBe(3);
    await page.locator('.live-open').waitFor();
    await shot('projects');

    await markWindow();
    await db.pool.query('update projects set cost_usd = 19.5 where id = $1', [seed.shop]);
    await event(seed.shop, 'task.usage', 'project', seed.shop);
    await expect.poll(() => row.locator('[data-cost]').textContent(), { timeout: 5000 }).toBe('$19.50');
    await notReloaded();
  });

  it('suggests where the repository lives when creating a project', async () => {
    await page.getByText('New project').click();
    await page.getByLabel('Name').fill('Widgets');
    await page.getByLabel('Git URL').fill('https://example.invalid/acme/widgets.git');
    await expect
      .poll(() => page.locator('#np-url-hint').textContent())
      .toContain(`cloned into ${path.join(server.home, 'repos', 'widgets')}`);
    await page.getByText('New project').click();
  });

  it('shows the project: phase timeline, controls and a task kanban that moves cards live', async () => {
    await page.getByRole('link', { name: 'Acme Shop' }).click();
    await page.getByRole('heading', { name: 'Acme Shop' }).waitFor();
    const col = (id: string) => page.locator(`[data-column="${id}"]`);
    await col('running').locator('.task-card').first().waitFor();
    const counts: Record<string, number> = {};
    for (const c of ['pending', 'blocked', 'running', 'completed', 'failed', 'dead_letter']) {
      counts[c] = await col(c).locator('.task-card').count();
    }
    expect(counts).toEqual({ pending: 1, blocked: 1, running: 2, completed: 4, failed: 1, dead_letter: 1 });
    expect(await page.locator('.timeline [aria-current="step"]').textContent()).toContain('development');
    expect(await page.getByRole('button', { name: 'Pause' }).isEnabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Resume' }).isEnabled()).toBe(false);
    await shot('project-kanban');

    await markWindow();
    const perf = seed.tasks['qa/perf']!;
    await db.pool.query(`update tasks set status = 'running', rarv_step = 'reason' where id = $1`, [perf]);
    await event(seed.shop, 'task.started', 'task', perf);
    await col('running').locator(`[data-task-id="${perf}"]`).waitFor({ timeout: 5000 });
    expect(await col('pending').locator('.task-card').count()).toBe(0);
    await notReloaded();
  });

  it('says live when a provider outage holds the project back, and when it is over', async () => {
    await markWindow();
    const until = new Date(Date.now() + 10 * 60_000);
    await db.pool.query(
      `insert into provider_pauses (provider, kind, paused_until, since, failures, reason)
       values ('anthropic', 'overloaded', $1, now(), 3, 'overloaded: Overloaded')`,
      [until],
    );
    await db.pool.query(
      `insert into events (kind, subject_type, subject_id, data) values ('provider.waiting', 'system', 'anthropic', '{}')`,
    );
    const banner = page.locator('[data-provider-wait="overloaded"]');
    await banner.waitFor({ timeout: 5000 });
    const hhmm = await page.evaluate(
      (u) => new Date(u).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
      until.toISOString(),
    );
    expect(await banner.textContent()).toContain(`Waiting for the provider until ${hhmm} (overloaded)`);
    await db.pool.query(`delete from provider_pauses`);
    await db.pool.query(
      `insert into events (kind, subject_type, subject_id, data) values ('provider.recovered', 'system', 'anthropic', '{}')`,
    );
    await expect.poll(() => banner.count(), { timeout: 5000 }).toBe(0);
    await notReloaded();
  });

  it('opens a task: requirement, attempts, RARV steps, verify output, PR link and retry', async () => {
    await page.locator(`[data-task-id="${seed.tasks['dev/payments']}"]`).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Customers pay by card').waitFor();
    const text = (await dialog.textContent()) ?? '';
    expect(text).toContain('FR-2.2');
    expect(text).toContain('3 of 3');
    expect(text).toContain('Expected 2 calls, received 1');
    expect(await dialog.locator('.steps li').count()).toBe(4);
    await shot('task-detail');
    await dialog.getByRole('button', { name: 'Retry task' }).click();
    // The one retry (projects/retry-task.ts) queues it at once in a running project; the dialog shows it live.
    await dialog.locator('[data-task-detail][data-status="queued"]').waitFor({ timeout: 5000 });
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);

    await page.locator(`[data-task-id="${seed.tasks['dev/catalog-api']}"]`).click();
    const pr = page.getByRole('dialog').getByRole('link', { name: /github\.com\/acme\/shop\/pull/ });
    await pr.waitFor();
    await page.keyboard.press('Escape');
  });

  it('says how verify judged a task: passed with its commands, failed, or unverified — never as passed', async () => {
    const catalog = seed.tasks['dev/catalog-api']!;
    const open = async (taskId: string, verdict: string) => {
      await page.locator(`[data-task-id="${taskId}"]`).click();
      const v = page.getByRole('dialog').locator(`[data-verify="${verdict}"]`);
      await v.waitFor({ timeout: 5000 });
      return (await v.textContent()) ?? '';
    };
    const close = async () => {
      await page.keyboard.press('Escape');
      await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    };
    const setVerify = (verify: unknown) =>
      db.pool.query(`update tasks set result = $2 where id = $1`, [catalog, JSON.stringify({ verify })]);

    await setVerify({ passed: true, status: 'passed', summary: 'all verify commands passed', commands: ['npm test'] });
    expect(await open(catalog, 'passed')).toMatch(/passed\s*npm test/);
    await close();
    // Its verify step failed (the retried task keeps its steps).
    expect(await open(seed.tasks['dev/payments']!, 'failed')).toContain('failed');
    await close();
    await setVerify({
      passed: false,
      status: 'unverified',
      summary: 'no verify command configured or found',
      commands: [],
    });
    const unverified = await open(catalog, 'unverified');
    expect(unverified).toContain('unverified');
    expect(unverified).toContain('no verify command configured or found');
    expect(unverified).not.toMatch(/passed/);
    await shot('task-unverified');
    await close();
  });

  it('pauses and resumes the project from its controls', async () => {
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('[data-project-status="paused"]').waitFor({ timeout: 5000 });
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('[data-project-status="running"]').waitFor({ timeout: 5000 });
  });

  it('shows the agents grid with task, RARV step, model, runner host, elapsed time and tokens', async () => {
    await page.getByRole('link', { name: 'Agents', exact: true }).first().click();
    const row = page.locator(`tr[data-agent-id="${seed.runs.active}"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('eng-backend');
    expect(text).toContain('Search products by name');
    expect(text).toContain('act');
    expect(text).toContain('claude-sonnet-4-5');
    expect(text).toContain('build-01.local');
    expect(text).toContain('61,500');
    expect(text).toMatch(/1[23]m \d\ds/);
    await shot('agents');

    await db.pool.query(`update agent_runs set status = 'verify' where id = $1`, [seed.runs.active]);
    await event(seed.shop, 'agent.step', 'agent_run', seed.runs.active);
    await page.locator(`tr[data-agent-id="${seed.runs.active}"][data-status="verify"]`).waitFor({ timeout: 5000 });
  });

  it('streams an agent log live, following by default, and searches it', async () => {
    await go(`/ui/projects/${seed.shop}/logs/${seed.runs.active}`);
    const lines = page.locator('.log-box .ll');
    await expect.poll(() => lines.count()).toBe(30);
    await db.pool.query(`insert into agent_logs (agent_run_id, stream, line) values ($1, 'stdout', 'fresh line 31')`, [
      seed.runs.active,
    ]);
    await page.locator('.log-box').getByText('fresh line 31').waitFor({ timeout: 5000 });
    const atBottom = await page
      .locator('.log-box')
      .evaluate((el) => Math.abs(el.scrollHeight - el.clientHeight - el.scrollTop) < 4);
    expect(atBottom).toBe(true);
    await shot('logs');
    await page.locator('.log-tools').getByLabel('Search').fill('trigram');
    await expect.poll(() => lines.count()).toBe(1);
    expect(await page.locator('.log-box mark').textContent()).toBe('trigram');
  });

  it('edits the PRD with the plan diff shown before saving', async () => {
    await go(`/ui/projects/${seed.shop}/prd`);
    await page.locator('.prd-text').getByText('Pay by card').waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    const area = page.getByLabel('PRD text (Markdown)');
    await area.fill(`${await area.inputValue()}| FR-2.3 | Apply discount codes at checkout | P1 |\n`);
    await page.getByRole('button', { name: 'Preview plan changes' }).click();
    const summary = page.locator('[data-plan-summary]');
    await summary.waitFor();
    expect(await summary.textContent()).toMatch(/Plan: \d+ to add, \d+ to change, \d+ to cancel\./);
    expect(await page.locator('.plan-table tbody tr').count()).toBeGreaterThan(0);
    await shot('prd-plan-diff');
    const before = await db.pool.query('select count(*)::int as n from prd_revisions where project_id = $1', [
      seed.shop,
    ]);
    await page.getByRole('button', { name: 'Save PRD and re-plan' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved as a new PRD revision' }).waitFor();
    const after = await db.pool.query(
      'select count(*)::int as n, max(content) as c from prd_revisions where project_id = $1',
      [seed.shop],
    );
    expect(after.rows[0].n).toBe(before.rows[0].n + 1);
    const current = await db.pool.query('select prd_content from projects where id = $1', [seed.shop]);
    expect(current.rows[0].prd_content).toContain('FR-2.3');
  });

  it('uploads a PRD file and refuses to save for a GitHub-driven project', async () => {
    await go(`/ui/projects/${seed.mobile}/prd`);
    await page.getByLabel('PRD text (Markdown)').waitFor();
    await page.locator('input[type="file"]').setInputFiles({
      name: 'PRD.md',
      mimeType: 'text/markdown',
      buffer: Buffer.from(
        '# Mobile\n\n## Functional Requirements\n\n| ID | Requirement | Priority |\n|--|--|--|\n| FR-1.1 | Login | P0 |\n',
      ),
    });
    // The file is read asynchronously (FileReader): poll until it lands in the editor.
    await expect.poll(() => page.getByLabel('PRD text (Markdown)').inputValue()).toContain('FR-1.1 | Login');
    await page.getByRole('button', { name: 'Preview plan changes' }).click();
    await page.locator('[data-plan-summary]').waitFor();
    expect(await page.getByRole('alert').filter({ hasText: 'GitHub App' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Save PRD and re-plan' }).count()).toBe(0);
    const res = await fetch(`${server.url}/api/ui/projects/${seed.mobile}/prd`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: '# x\n' }),
    });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('CONFLICT');
  });

  it('charts cost and tokens per phase, agent type, day and project', async () => {
    await go('/ui/cost');
    await page.getByRole('heading', { name: 'Cost and tokens' }).waitFor();
    await expect.poll(() => page.locator('[data-total-cost]').textContent()).toMatch(/\$\d+\.\d\d/);
    const phase = page.getByRole('figure', { name: 'Per phase' });
    expect(await phase.textContent()).toContain('development');
    const types = page.getByRole('figure', { name: 'Per agent type' });
    expect(await types.textContent()).toContain('eng-backend');
    expect(await page.getByRole('figure', { name: 'Per project' }).textContent()).toContain('Acme Shop');
    expect(await page.locator('svg.columns rect').count()).toBe(14);
    await shot('cost');
  });

  it('works on a phone-sized screen', async () => {
    const phone = await browser.context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${server.url}/ui/`);
    await phone.locator(`tr[data-project-id="${seed.shop}"]`).waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('phone-projects', phone);
    await phone.goto(`${server.url}/ui/projects/${seed.shop}/tasks`);
    await phone.locator('[data-column="running"] .task-card').first().waitFor();
    await shot('phone-project', phone);
    await phone.close();
  });

  it('is keyboard navigable with visible focus and labelled controls', async () => {
    await page.goto(`${server.url}/ui/`);
    await page.locator('tbody tr').first().waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
    expect(outline).not.toBe('none');
    // Every form control has an accessible name.
    const unlabeled = await page.evaluate(
      () =>
        Array.from(document.querySelectorAll('input, select, textarea, button')).filter((el) => {
          const e = el as HTMLInputElement;
          return !(e.labels?.length || e.getAttribute('aria-label') || e.textContent?.trim() || e.type === 'hidden');
        }).length,
    );
    expect(unlabeled).toBe(0);
  });
});
