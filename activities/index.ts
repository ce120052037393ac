import type { Database } from '../db/client';
import type { Logger } from '../logger';
import { loggingChannel, type Channels } from './channels';
import { createDeliveryActivities, type DeliveryOptions } from './delivery';
import { createLitigationActivities } from './litigation';
import { createProjectionActivities } from './projection';

export { ChannelError, loggingChannel } from './channels';
export type { ChannelAdapter, Channels, OutgoingNotification, SendOptions } from './channels';
export { DEFAULT_DELIVERY_OPTIONS, startOutboxSweeper } from './delivery';
export type { DeliveryOptions, OutboxSweeper, SweepInput, SweepResult } from './delivery';

export interface ActivityDependencies {
  db: Database;
  logger: Logger;
  /** Adapters by channel. */
  channels?: Channels;
  /** What a channel without an adapter does: `log` (development, tests: the logging adapter
   * stands in) or `fail` (production: its rows are marked failed, saying no adapter is set). */
  unconfiguredChannels?: 'log' | 'fail';
  delivery?: Partial<DeliveryOptions>;
}

/** Every activity: the case workflow's type of its activities, and what the workers register
 * (the case task queue the projection's, the delivery task queue the delivery's). */
export function createActivities({ db, logger, channels = {}, unconfiguredChannels = 'log', delivery }: ActivityDependencies) {
  const fallback = unconfiguredChannels === 'log' ? loggingChannel(logger) : undefined;
  return {
    ...createProjectionActivities(db),
    ...createDeliveryActivities(db, (channel) => channels[channel] ?? fallback, delivery, logger),
    ...createLitigationActivities(db),
  };
}
