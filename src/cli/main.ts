import { Command, CommanderError } from 'commander';
import { formatSamgitaYamlIssues } from '../config/samgita-yaml/index.js';
import { isSamgitaError } from '../errors.js';
import { logger } from '../log/logger.js';
import { registerCommands } from './commands/index.js';

const program = new Command();
program
  .name('samgita')
  .description(
    'GitOps controller for AI software delivery: turns PRD.md into branches and pull requests with Claude Code agents.',
  )
  .version(process.env.npm_package_version ?? '0.1.0', '-v, --version')
  .showHelpAfterError('(run with --help for usage)')
  .configureHelp({ showGlobalOptions: true });
registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (isSamgitaError(err)) {
    // A config file with several problems gets all of them, each with its position.
    const text = err.code.startsWith('CONFIG_YAML') ? formatSamgitaYamlIssues(err) : err.format();
    process.stderr.write(`${text}\n`);
    process.exit(2);
  }
  logger().fatal({ err }, 'unexpected error');
  process.stderr.write(
    `samgita: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
}
