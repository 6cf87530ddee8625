// spec.strategy and spec.timeouts: the steps (or the blueGreen switch) a release walks, and the
// deadline of every wait along the way. Kept apart from schema.ts, which imports it.
import { z } from 'zod';
import { duration } from './schema-parts.ts';

export const stepSpec = z
  .strictObject({
    weight: z
      .number()
      .min(0)
      .max(100)
      .meta({ description: 'Percent of traffic sent to the canary during this step (0-100, fractions allowed: 0.1).' }),
    hold: duration
      .default('5m')
      .meta({ description: 'How long the step holds (and is analysed) before it may advance.' }),
    pause: z
      .boolean()
      .default(false)
      .meta({ description: 'Stop at this step until a person runs `kubectl canary resume` or `promote`.' }),
    approval: z.boolean().optional().meta({
      description:
        "Before this step's weight is set, wait for `kubectl canary approve` (or POST .../approve) by someone with the verb approve on canarypolicies (docs/hooks.md).",
    }),
  })
  .meta({ description: 'One traffic step of a canary release.' });

export const strategySpec = z
  .strictObject({
    type: z.enum(['canary', 'blueGreen']).default('canary').meta({
      description: 'canary: weighted steps. blueGreen: a full-size new version, one switch, instant switch back.',
    }),
    steps: z
      .array(stepSpec)
      .min(1)
      .default([
        { weight: 1, hold: '5m', pause: false },
        { weight: 5, hold: '5m', pause: false },
        { weight: 25, hold: '5m', pause: false },
        { weight: 50, hold: '5m', pause: false },
      ])
      .meta({
        description: 'Canary steps with strictly increasing weights. After the last step the release is promoted.',
      }),
    allowLargeFirstStep: z
      .boolean()
      .default(false)
      .meta({ description: 'Permit a first step above 5 %. Off by default: a canary starts small.' }),
    blueGreen: z
      .strictObject({
        previewHold: duration.default('5m').meta({
          description: 'How long the full-size new version is analysed (testers only) before the switch.',
        }),
        switchBackHold: duration
          .default('10m')
          .meta({ description: 'After the switch, the old version is kept this long for an instant switch back.' }),
      })
      .default({ previewHold: '5m', switchBackHold: '10m' })
      .meta({ description: 'Options of the blueGreen strategy.' }),
  })
  .meta({ description: 'How a new revision is released.' });

export const timeoutsSpec = z
  .strictObject({
    canaryReady: duration
      .default('10m')
      .meta({ description: 'Canary pods must be ready within this, or the release rolls back.' }),
    promotion: duration
      .default('15m')
      .meta({ description: 'The stable roll to the new template must finish within this.' }),
    release: duration.default('24h').meta({ description: 'A whole release must end within this.' }),
  })
  .meta({ description: 'Every wait has a deadline; passing one rolls back and says why.' });

export type StepSpec = z.output<typeof stepSpec>;
export type TimeoutsSpec = z.output<typeof timeoutsSpec>;
