import fs from 'node:fs';

/**
 * Host pids of live (not zombie) processes whose environment holds `entry`
 * (`NAME=value`). Agents run in their own PID namespace, so the pid a process
 * reports about itself means nothing outside; an environment variable every
 * descendant inherits finds them all from the host.
 */
export function processesWithEnv(entry: string): number[] {
  const needle = Buffer.from(`${entry}\0`);
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${d}/environ`);
      const at = env.indexOf(needle);
      if (at < 0 || (at > 0 && env[at - 1] !== 0)) continue;
      if (/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${d}/stat`, 'utf8'))) continue;
      out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** A process's parent pid, from /proc/<pid>/stat (its 4th field, after the command in parentheses). */
export function parentPid(pid: number): number {
  return Number(
    fs
      .readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ')[1],
  );
}
