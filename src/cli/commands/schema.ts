import type { Command } from 'commander';
import { samgitaJsonSchema } from '../../config/samgita-yaml/index.js';

export function registerSchemaCommand(program: Command): void {
  program
    .command('schema')
    .description('Print the JSON Schema of samgita.yaml (for editor completion and validation).')
    .addHelpText(
      'after',
      '\nExample:\n  samgita schema > .samgita.schema.json\n  # then, at the top of samgita.yaml:\n  # yaml-language-server: $schema=./.samgita.schema.json',
    )
    .action(() => {
      process.stdout.write(`${JSON.stringify(samgitaJsonSchema(), null, 2)}\n`);
    });
}
