import type { PlannedTask } from '../types.js';
import type { PhaseInput } from './input.js';
import { planRoster } from './staff.js';

/** How the product finds, keeps and grows its users once it exists. */
export function planGrowth(input: PhaseInput): PlannedTask[] {
  return planRoster(input, 'growth', [
    [
      'growth-hacker',
      'Growth experiments',
      'Propose and specify the first growth experiments with metrics and thresholds.',
    ],
    ['growth-success', 'Onboarding journey', 'Design the onboarding journey to first value and its health signals.'],
    ['growth-community', 'Community plan', 'Plan the community channels and write the contributor guide.'],
  ]);
}
