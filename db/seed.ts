import type { CollectionPolicy } from '../domain';
import { DAY_MS } from '../domain';
import type { Database } from './client';
import { collectionPolicies } from './schema';

type SeedPolicy = Omit<CollectionPolicy, 'version'>;

/** The bank's standard ladder: deterrence (hands 1–2), persistence (3–4), law (5–6). */
export const STANDARD_POLICY: SeedPolicy = {
  name: 'standard',
  description: 'Reminder, warning letter, visit, repeated visits with small frequent payments, lawyer\'s letter, litigation referral.',
  dayMs: DAY_MS,
  maxPromiseDays: 14,
  hands: [
    {
      hand: 1,
      entersAtDay: 0,
      approach: 'deterrence',
      actions: [
        { kind: 'notify', channel: 'sms', template: 'payment_reminder', recipient: 'borrower' },
        { kind: 'task', task: 'call', dueInDays: 1 },
      ],
    },
    {
      hand: 2,
      entersAtDay: 15,
      approach: 'deterrence',
      actions: [{ kind: 'notify', channel: 'letter', template: 'warning_letter', recipient: 'borrower' }],
    },
    {
      hand: 3,
      entersAtDay: 30,
      approach: 'persistence',
      actions: [{ kind: 'task', task: 'visit', dueInDays: 3 }],
    },
    {
      hand: 4,
      entersAtDay: 60,
      approach: 'persistence',
      actions: [
        { kind: 'task', task: 'visit', dueInDays: 3, repeatEveryDays: 7 },
        { kind: 'task', task: 'small_payment_plan', dueInDays: 5 },
      ],
    },
    {
      hand: 5,
      entersAtDay: 90,
      approach: 'law',
      actions: [
        { kind: 'notify', channel: 'letter', template: 'lawyers_letter', recipient: 'borrower' },
        { kind: 'notify', channel: 'letter', template: 'lawyers_letter', recipient: 'guarantors' },
        { kind: 'task', task: 'legal_review', dueInDays: 5 },
      ],
    },
    {
      hand: 6,
      entersAtDay: 120,
      approach: 'law',
      actions: [{ kind: 'task', task: 'litigation_referral', dueInDays: 5 }],
    },
  ],
};

/** The standard ladder's actions on a calendar where a day lasts two seconds: a case opened
 * with it moves a hand every six seconds, so a visitor sees the whole ladder in half a minute. */
export const DEMO_POLICY: SeedPolicy = {
  ...STANDARD_POLICY,
  name: 'demo',
  description: 'The standard actions on a fast calendar (one case day = 2 s, a hand every 3 days) for demonstrations.',
  dayMs: 2_000,
  hands: STANDARD_POLICY.hands.map((rule, i) => ({ ...rule, entersAtDay: i * 3 })),
};

export const SEED_POLICIES: SeedPolicy[] = [STANDARD_POLICY, DEMO_POLICY];

/** Writes version 1 of each seed policy where that version does not exist yet. */
export async function seedPolicies(db: Database): Promise<void> {
  await db
    .insert(collectionPolicies)
    .values(SEED_POLICIES.map((p) => ({ ...p, version: 1 })))
    .onConflictDoNothing();
}
