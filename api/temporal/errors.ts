import { isGrpcServiceError, ServiceError } from '@temporalio/client';

/** gRPC status codes: DEADLINE_EXCEEDED (4) and UNAVAILABLE (14). */
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([4, 14]);

/** True when Temporal could not be reached (as opposed to refusing the request). */
export function isTemporalUnavailable(err: unknown): boolean {
  const grpcError = err instanceof ServiceError ? err.cause : err;
  return isGrpcServiceError(grpcError) && UNAVAILABLE_CODES.has(grpcError.code);
}
