/**
 * New task checkouts of a small repository, copied from one clean checkout of
 * the base commit (a template) instead of each asking git to write the tree.
 *
 * Starting a task in a small repository cost one `git reset --hard` process:
 * with 1,000 agents starting at once that was about a third of the machine's
 * CPU (git and the helper that starts it; `perf`, bench/many-agents.ts), all of
 * it process creation, not file writing. A copy is a few system calls in the
 * runner (src/git/link-worktree.ts `copyCheckout`), and the branch is written
 * as git writes it (src/git/write-ref.ts).
 *
 * A template is made when a second task asks for the same base: the first at
 * a base has git write its tree, so a base that moves with every merge (one
 * task started per base) never pays for a template it would not reuse. Large
 * repositories keep spares instead (src/git/worktree-spares.ts): copying many
 * files on the runner's main thread would cost more than git does in the
 * background. A template belongs to one runner process (its name carries the
 * pid); those of a dead process are removed when its repository is next seen.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CommitIdentity } from './commit.js';
import { repoLayout } from './layout.js';
import type { CopySource } from './link-worktree.js';
import { addWorktree } from './worktree.js';
import { removeCheckout, sweepDeadCheckouts, worthSpares } from './worktree-spares.js';

const TEMPLATE_PREFIX = '.template-';

interface Template {
  baseSha: string;
  /** Tasks that asked for this base. */
  asks: number;
  dir: Promise<string | null> | null;
  /** Copies being made from it: a replaced template is removed when the last one is done. */
  users: number;
  replaced: boolean;
}

export class CheckoutCopies {
  private readonly templates = new Map<string, Template>();
  private readonly swept = new Set<string>();
  private seq = 0;
  private closed = false;

  /**
   * Runs `make` with a checkout of `repo` at `baseSha` to copy (undefined: none,
   * git writes the tree), kept until `make` is done. Templates are made under `dir`.
   */
  async with<T>(
    repo: string,
    baseSha: string,
    dir: string,
    identity: CommitIdentity,
    make: (copy: CopySource | undefined) => Promise<T>,
  ): Promise<T> {
    const t = await this.template(repo, baseSha, dir);
    const templateDir = t ? await t.dir : null;
    if (!t || !templateDir || t.replaced) return make(undefined);
    if (!existsSync(path.join(templateDir, '.git'))) {
      // Deleted from outside (by hand, a clean-up job): the next task at this base makes another.
      this.templates.delete(repo);
      void this.retire(repo, t);
      return make(undefined);
    }
    t.users++;
    try {
      return await make({ dir: templateDir, identity });
    } finally {
      t.users--;
      if (t.replaced && t.users === 0) void removeCheckout(repo, templateDir);
    }
  }

  private async template(repo: string, baseSha: string, dir: string): Promise<Template | null> {
    if (this.closed || worthSpares(repo)) return null;
    const layout = await repoLayout(repo).catch(() => null);
    if (!layout?.copyable) return null;
    let t = this.templates.get(repo);
    if (!t || t.baseSha !== baseSha) {
      if (t) void this.retire(repo, t);
      t = { baseSha, asks: 0, dir: null, users: 0, replaced: false };
      this.templates.set(repo, t);
    }
    if (++t.asks < 2) return null;
    t.dir ??= this.make(repo, baseSha, dir);
    return t;
  }

  private async make(repo: string, baseSha: string, dir: string): Promise<string | null> {
    try {
      if (!this.swept.has(repo)) {
        this.swept.add(repo);
        await sweepDeadCheckouts(repo, dir, TEMPLATE_PREFIX);
      }
      const template = path.join(dir, `${TEMPLATE_PREFIX}${process.pid}-${++this.seq}`);
      await addWorktree(repo, template, { detached: baseSha });
      return template;
    } catch {
      return null; // no copies at this base: each task's tree is written by git
    }
  }

  /** Copies still being made from it remove it when the last is done. */
  private async retire(repo: string, t: Template): Promise<void> {
    t.replaced = true;
    const templateDir = await t.dir;
    if (templateDir && t.users === 0) await removeCheckout(repo, templateDir);
  }

  /** No more templates; removes the ones there are (copies in progress finish first). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.templates.entries()];
    this.templates.clear();
    await Promise.all(all.map(([repo, t]) => this.retire(repo, t)));
  }
}
