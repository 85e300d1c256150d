import type { Command } from 'commander';
import { registerMigrateCommand } from './migrate.js';
import { registerRunCommand } from './run.js';
import { registerSchemaCommand } from './schema.js';

/** Every subcommand, each in its own module. */
export function registerCommands(program: Command): void {
  registerRunCommand(program);
  registerMigrateCommand(program);
  registerSchemaCommand(program);
}
