import fs from 'node:fs';

/** Whether a process exists (another user's counts: signalling it is refused, not missing). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Calls `visit` with each process's environment block (not ours; what cannot be read is skipped). */
export function eachEnviron(visit: (pid: number, env: Buffer) => void): void {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let env: Buffer;
    try {
      env = fs.readFileSync(`/proc/${entry}/environ`);
    } catch {
      continue; // gone, or not ours
    }
    visit(pid, env);
  }
}

/** Where `<name>=` starts a variable of an environment block (at its start or after a NUL), or -1. */
export function variableAt(env: Buffer, prefix: Buffer): number {
  let at = env.indexOf(prefix);
  while (at > 0 && env[at - 1] !== 0) at = env.indexOf(prefix, at + 1);
  return at;
}

/** Pids (not ours) whose environment has `<name>=<value>`, read from /proc. Empty where /proc is missing. */
export function pidsWithEnv(name: string, value: string): number[] {
  const needle = Buffer.from(`${name}=${value}\0`);
  const out: number[] = [];
  eachEnviron((pid, env) => {
    if (variableAt(env, needle) >= 0) out.push(pid);
  });
  return out;
}
