/**
 * Kills a whole process group: the shell, the command it started, and anything
 * that command forked. Children spawned with `detached: true` lead their own
 * group, whose id is their pid.
 */
export function killProcessGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM the group, then SIGKILL whatever is left after `graceMs`. */
export function terminateProcessGroup(pid: number | undefined, graceMs = 3000): void {
  if (!pid) return;
  killProcessGroup(pid, 'SIGTERM');
  setTimeout(() => killProcessGroup(pid, 'SIGKILL'), graceMs).unref();
}
