import { describe, expect, it } from 'vitest';
import { decideHeapTuning, HEAP_GROWING_PERCENT } from '../../src/runner/tune-heap.js';

describe('decideHeapTuning', () => {
  it('sets the growing factor when the user gave no heap flag', () => {
    expect(decideHeapTuning(['--enable-source-maps'], '--import tsx')).toEqual({
      kind: 'tuned',
      flag: `--heap-growing-percent=${HEAP_GROWING_PERCENT}`,
    });
    expect(decideHeapTuning([], undefined).kind).toBe('tuned');
  });

  it("leaves the heap to the user's own flags, in node flags or NODE_OPTIONS, with - or _", () => {
    expect(decideHeapTuning(['--max-old-space-size=512'], undefined)).toEqual({
      kind: 'left',
      because: 'heap flag --max-old-space-size=512 given',
    });
    expect(decideHeapTuning([], '--trace-warnings --max_old_space_size=2048').kind).toBe('left');
    expect(decideHeapTuning([], '--heap-growing-percent=50').kind).toBe('left');
    expect(decideHeapTuning(['--optimize-for-size'], '').kind).toBe('left');
    // A flag that only starts alike is not a heap flag.
    expect(decideHeapTuning(['--max-old-space-sizes'], '').kind).toBe('tuned');
  });
});
