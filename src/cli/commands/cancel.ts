import type { Command } from 'commander';
import { registerControlCommand } from './pause.js';

export function registerCancelCommand(program: Command): void {
  registerControlCommand(program, 'cancel');
}
