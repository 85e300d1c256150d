export * from './accumulate.js';
export * from './args.js';
export * from './env.js';
export * from './events.js';
export * from './preflight.js';
export * from './process-group.js';
export * from './run-claude.js';
export * from './stream-parser.js';
