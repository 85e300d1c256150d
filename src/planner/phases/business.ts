import type { PlannedTask } from '../types.js';
import type { PhaseInput } from './input.js';
import { planRoster } from './staff.js';

/** What a product needs besides code before people can buy and use it. */
export function planBusiness(input: PhaseInput): PlannedTask[] {
  return planRoster(input, 'business', [
    [
      'biz-marketing',
      'Positioning and launch material',
      'Write the positioning, messaging per persona, and the launch announcement and landing page copy.',
    ],
    [
      'biz-legal',
      'Terms, privacy policy and license review',
      'Draft the terms of service and privacy policy and review third-party licenses.',
    ],
    ['biz-support', 'Support documentation', 'Write the FAQ, troubleshooting guide and support process.'],
    ['biz-finance', 'Pricing and unit economics', 'Model pricing and unit economics from the real running costs.'],
  ]);
}
