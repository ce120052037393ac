import { ChannelError, type ChannelAdapter, type OutgoingNotification } from '../channels';

export interface WebhookChannelOptions {
  /** The gateway's endpoint, e.g. an SMS provider's send URL. */
  url: string;
  /** Sent as `Authorization: Bearer <secret>`. */
  secret: string;
  /** Bounds the whole request: connecting, sending and the gateway's answer. */
  timeoutMs: number;
}

/** What the gateway receives: one message to one person. */
export interface WebhookBody {
  idempotencyKey: string;
  notificationId: string;
  caseId: string;
  channel: OutgoingNotification['channel'];
  template: string;
  recipient: OutgoingNotification['recipient'];
  payload: Record<string, unknown>;
}

/**
 * An HTTP gateway in the style of SMS providers: one JSON POST per recipient with a bearer
 * secret and an `Idempotency-Key` header (the outbox row id, the same on every attempt), so a
 * retry after a lost answer is not sent twice. A 2xx answer is success; any other answer is an
 * error with its status, permanent for a 4xx other than 408 and 429 (the request itself is
 * wrong: retrying sends the same thing). Redirects are not followed (a POST would become a GET).
 */
export function webhookChannel(options: WebhookChannelOptions): ChannelAdapter {
  const { url, secret, timeoutMs } = options;
  return {
    async send(notification, { signal } = {}) {
      const body: WebhookBody = {
        idempotencyKey: notification.idempotencyKey,
        notificationId: notification.notificationId,
        caseId: notification.caseId,
        channel: notification.channel,
        template: notification.template,
        recipient: notification.recipient,
        payload: notification.payload,
      };
      const timeout = AbortSignal.timeout(timeoutMs);
      const aborted = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${secret}`,
            'content-type': 'application/json',
            'idempotency-key': notification.idempotencyKey,
          },
          body: JSON.stringify(body),
          redirect: 'manual',
          signal: aborted,
        });
        // The answer's body is not used (it may echo the recipient): read it off within the timeout.
        await response.arrayBuffer();
      } catch (err) {
        if (timeout.aborted) throw new ChannelError(`webhook gave no answer within ${timeoutMs} ms`);
        if (signal?.aborted) throw new ChannelError('webhook request cancelled');
        throw new ChannelError(`webhook request failed: ${networkCause(err)}`);
      }
      if (response.status >= 200 && response.status < 300) return;
      const { status } = response;
      const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
      throw new ChannelError(`webhook answered ${status}${response.statusText ? ` ${response.statusText}` : ''}`, {
        status,
        permanent,
      });
    },
  };
}

/** The network cause without anything from the request (undici nests it in `cause`). */
function networkCause(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}
