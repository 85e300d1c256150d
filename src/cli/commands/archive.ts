import type { Command } from 'commander';
import { registerControlCommand } from './pause.js';

export function registerArchiveCommand(program: Command): void {
  registerControlCommand(program, 'archive');
}
