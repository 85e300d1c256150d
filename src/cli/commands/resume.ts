import type { Command } from 'commander';
import { registerControlCommand } from './pause.js';

export function registerResumeCommand(program: Command): void {
  registerControlCommand(program, 'resume');
}
