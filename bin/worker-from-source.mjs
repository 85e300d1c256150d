// A worker thread's entry when Samgita runs from its TypeScript sources (no build):
// registers tsx in this thread, then hands every task to the real module's default export.
import { workerData } from 'node:worker_threads';

const { register } = await import('tsx/esm/api');
register();
const mod = await import(workerData.samgitaEntry);

export default (task) => mod.default(task);
