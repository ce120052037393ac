import type { Database } from '../db/client';
import type { Logger } from '../logger';
import { loggingChannel, type Channels } from './channels';
import { createDeliveryActivities, type DeliveryOptions } from './delivery';
import { createIntakeActivities, type IntakeSettings } from './intake';
import { createLitigationActivities } from './litigation';
import { createProjectionActivities } from './projection';
import { createRetentionActivities } from './retention';
import { createWatchActivities } from './watch-projection';

export { ChannelError, loggingChannel } from './channels';
export type { ChannelAdapter, Channels, OutgoingNotification, SendOptions } from './channels';
export { DEFAULT_DELIVERY_OPTIONS, startOutboxSweeper } from './delivery';
export type { DeliveryOptions, OutboxSweeper, SweepInput, SweepResult } from './delivery';
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
 * (the case task queue the projection's, the delivery task queue the delivery's). */
export function createActivities({ db, logger, channels = {}, unconfiguredChannels = 'log', delivery, teamChannelUrls = [], intake }: ActivityDependencies) {
  const fallback = unconfiguredChannels === 'log' ? loggingChannel(logger) : undefined;
  return {
    ...createProjectionActivities(db, teamChannelUrls),
    ...createWatchActivities(db, teamChannelUrls),
    ...createDeliveryActivities(db, (channel) => channels[channel] ?? fallback, delivery, logger),
    ...createLitigationActivities(db),
    ...createIntakeActivities(db, intake),
    ...createRetentionActivities(db),
  };
}
