import type { Database } from '../db/client';
import type { Logger } from '../logger';
import { loggingChannel, type Channels } from './channels';
import { createDeliveryActivities } from './delivery';
import { createProjectionActivities } from './projection';

export type { ChannelAdapter, Channels, OutgoingNotification } from './channels';

export interface ActivityDependencies {
  db: Database;
  logger: Logger;
  /** Adapters by channel; a channel without one uses the logging adapter. */
  channels?: Channels;
}

export function createActivities({ db, logger, channels = {} }: ActivityDependencies) {
  const fallback = loggingChannel(logger);
  return {
    ...createProjectionActivities(db),
    ...createDeliveryActivities(db, (channel) => channels[channel] ?? fallback),
  };
}
