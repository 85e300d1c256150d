import type { Command } from 'commander';
import { registerArchiveCommand } from './archive.js';
import { registerCancelCommand } from './cancel.js';
import { registerDoctorCommand } from './doctor.js';
import { registerImportCommand } from './import.js';
import { registerKeysCommand } from './keys.js';
import { registerMigrateCommand } from './migrate.js';
import { registerPauseCommand } from './pause.js';
import { registerPlanCommand } from './plan.js';
import { registerRestoreCommand } from './restore.js';
import { registerResumeCommand } from './resume.js';
import { registerRetryCommand } from './retry.js';
import { registerRunCommand } from './run.js';
import { registerRunnerCommand } from './runner.js';
import { registerSchemaCommand } from './schema.js';
import { registerServeCommand } from './serve.js';
import { registerStartCommand } from './start.js';
import { registerStatusCommand } from './status.js';

/** Every subcommand, each in its own module. */
export function registerCommands(program: Command): void {
  registerRunCommand(program);
  registerStartCommand(program);
  registerMigrateCommand(program);
  registerSchemaCommand(program);
  registerRunnerCommand(program);
  registerRetryCommand(program);
  registerPlanCommand(program);
  registerStatusCommand(program);
  registerPauseCommand(program);
  registerResumeCommand(program);
  registerCancelCommand(program);
  registerArchiveCommand(program);
  registerServeCommand(program);
  registerKeysCommand(program);
  registerDoctorCommand(program);
  registerImportCommand(program);
  registerRestoreCommand(program);
}
