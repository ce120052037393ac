import type { Database } from '../db/client';
import type { Logger } from '../logger';
import { loggingChannel, type Channels } from './channels';
import { createDeliveryActivities, createOutbox, DEFAULT_DELIVERY_OPTIONS, type DeliveryOptions, type Outbox } from './delivery';
import { createDeliveryRelay, type DeliveryRelay } from './delivery-relay';
import { createIntakeActivities, type IntakeSettings } from './intake';
import { createLitigationActivities } from './litigation';
import { createProjectionActivities } from './projection';
import { createRetentionActivities } from './retention';
import { createWatchActivities } from './watch-projection';

export { ChannelError, loggingChannel } from './channels';
export type { ChannelAdapter, Channels, OutgoingNotification, SendOptions } from './channels';
export { DEFAULT_DELIVERY_OPTIONS, startOutboxSweeper } from './delivery';
export type { DeliveryOptions, OutboxSweeper, SweepInput, SweepResult } from './delivery';
export type { DeliveryRelay } from './delivery-relay';
export { DEFAULT_TEAM_CHANNEL_OPTIONS, createTeamChannelDelivery } from './team-channel-delivery';
export type { TeamChannelOptions } from './team-channel-delivery';

export interface ActivityDependencies {
  db: Database;
  logger: Logger;
  /** Adapters by channel. */
  channels?: Channels;
  /** What a channel without an adapter does: `log` (development, tests: the logging adapter
   * stands in) or `fail` (production: its rows are marked failed, saying no adapter is set). */
  unconfiguredChannels?: 'log' | 'fail';
  delivery?: Partial<DeliveryOptions>;
  /** Where the projection queues team channel posts (none: nothing is queued). */
  teamChannelUrls?: readonly string[];
  /** The daily intake's folder and settings (none: its activities refuse, saying so). */
  intake?: IntakeSettings;
}

/** Every activity: the case workflow's type of its activities, and what the workers register
 * (the case task queue the projection's, the delivery task queue the delivery's). Without a
 * relay the letters a projection writes wait for their run's delivery activity or the sweeper. */
export function createActivities(deps: ActivityDependencies) {
  return activitiesOn(outboxOf(deps), deps);
}

/** What a worker process runs: the activities, and the relay that sends the letters each
 * projection writes (to be stopped with the workers). */
export function createWorkerActivities(deps: ActivityDependencies): { activities: ReturnType<typeof createActivities>; relay: DeliveryRelay } {
  const outbox = outboxOf(deps);
  const { retryBaseMs, retryMaxMs, sweepConcurrency } = { ...DEFAULT_DELIVERY_OPTIONS, ...deps.delivery };
  const relay = createDeliveryRelay(outbox, { concurrency: sweepConcurrency, retryBaseMs, retryMaxMs }, deps.logger.child({ component: 'delivery-relay' }));
  return { activities: activitiesOn(outbox, deps, relay.kick), relay };
}

function outboxOf({ db, logger, channels = {}, unconfiguredChannels = 'log', delivery }: ActivityDependencies): Outbox {
  const fallback = unconfiguredChannels === 'log' ? loggingChannel(logger) : undefined;
  return createOutbox(db, (channel) => channels[channel] ?? fallback, delivery, logger);
}

function activitiesOn(outbox: Outbox, { db, teamChannelUrls = [], intake }: ActivityDependencies, lettersWritten?: (caseId: string) => void) {
  return {
    ...createProjectionActivities(db, teamChannelUrls, lettersWritten),
    ...createWatchActivities(db, teamChannelUrls),
    ...createDeliveryActivities(outbox),
    ...createLitigationActivities(db),
    ...createIntakeActivities(db, intake),
    ...createRetentionActivities(db),
  };
}
