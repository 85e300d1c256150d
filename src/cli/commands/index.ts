import type { Command } from 'commander';

/**
 * Every subcommand, each in its own module, imported only when asked for: the
 * `serve` command alone brings the web server, the GitHub App and the queue,
 * and `samgita status` should not wait for them (1.1 s from source instead of
 * 2.0 s here). `--version` alone imports none; `--help` and anything unknown
 * import them all.
 */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  run: async () => (await import('./run.js')).registerRunCommand,
  start: async () => (await import('./start.js')).registerStartCommand,
  migrate: async () => (await import('./migrate.js')).registerMigrateCommand,
  schema: async () => (await import('./schema.js')).registerSchemaCommand,
  runner: async () => (await import('./runner.js')).registerRunnerCommand,
  retry: async () => (await import('./retry.js')).registerRetryCommand,
  plan: async () => (await import('./plan.js')).registerPlanCommand,
  status: async () => (await import('./status.js')).registerStatusCommand,
  pause: async () => (await import('./pause.js')).registerPauseCommand,
  resume: async () => (await import('./resume.js')).registerResumeCommand,
  cancel: async () => (await import('./cancel.js')).registerCancelCommand,
  archive: async () => (await import('./archive.js')).registerArchiveCommand,
  serve: async () => (await import('./serve.js')).registerServeCommand,
  keys: async () => (await import('./keys.js')).registerKeysCommand,
  doctor: async () => (await import('./doctor.js')).registerDoctorCommand,
  import: async () => (await import('./import.js')).registerImportCommand,
  restore: async () => (await import('./restore.js')).registerRestoreCommand,
};

/** Registers the subcommand `argv` names, or every subcommand when it names none of them. */
export async function registerCommands(program: Command, argv: readonly string[]): Promise<void> {
  const args = argv.slice(2);
  const named = args.find((a) => !a.startsWith('-'));
  if (named === undefined && args.some((a) => a === '--version' || a === '-v') && !args.some(isHelp)) return;
  const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
  const registers = await Promise.all(wanted.map((name) => COMMANDS[name]!()));
  for (const register of registers) register(program);
}

function isHelp(arg: string): boolean {
  return arg === '--help' || arg === '-h';
}
