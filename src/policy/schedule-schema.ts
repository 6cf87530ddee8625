// spec.schedule: the windows in which releases start and steps advance, and the blackouts in
// which nothing does. Kept apart from schema.ts, which imports it; schedule/ reads the times.
import { z } from 'zod';
import { duration } from './schema-parts.ts';

const cronWindow = z.strictObject({
  cron: z.string().min(1).meta({ description: 'Cron expression (5 fields, minute first) for when the window opens.' }),
  duration: duration.meta({ description: 'How long the window stays open after each opening.' }),
});

const blackout = z.strictObject({
  start: z.iso.datetime({ offset: true }).optional().meta({ description: 'Start of a one-off blackout (RFC 3339).' }),
  end: z.iso.datetime({ offset: true }).optional().meta({ description: 'End of a one-off blackout (RFC 3339).' }),
  cron: z.string().min(1).optional().meta({ description: 'Cron expression for a recurring blackout.' }),
  duration: duration.optional().meta({ description: 'Length of each recurring blackout.' }),
  reason: z.string().optional().meta({ description: 'Shown when a release holds because of this blackout.' }),
});

export const scheduleSpec = z
  .strictObject({
    timeZone: z.string().default('UTC').meta({ description: 'IANA time zone the cron expressions are read in.' }),
    startWindows: z
      .array(cronWindow)
      .default([])
      .meta({ description: 'When a new release may start. Empty: any time.' }),
    advanceWindows: z
      .array(cronWindow)
      .default([])
      .meta({ description: 'When steps may advance. Empty: any time. Outside, a release holds its weight.' }),
    blackouts: z.array(blackout).default([]).meta({ description: 'Periods in which nothing starts or advances.' }),
  })
  .meta({ description: 'When releases start and advance. Analysis and rollback never wait for a window.' });

export type ScheduleSpec = z.output<typeof scheduleSpec>;
