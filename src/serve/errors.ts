/**
 * What a request to the server can be refused with: each a ResNetError with the HTTP status and the gRPC
 * code it answers as (the Open Inference Protocol's error object, `{ "error": message }`, on both).
 */
import { ResNetError } from '../errors.js';

/** gRPC status codes the server answers with (grpc/status.h). */
export const GRPC = {
  OK: 0,
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export class ServeError extends ResNetError {
  constructor(
    message: string,
    readonly status: number,
    readonly grpcCode: number,
    /** Seconds a client should wait before it tries again (503: Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** The request itself is wrong (a tensor of the wrong shape or datatype, not an image, an unknown output). */
export const badRequest = (message: string): ServeError => new ServeError(message, 400, GRPC.INVALID_ARGUMENT);
export const notFound = (message: string): ServeError => new ServeError(message, 404, GRPC.NOT_FOUND);
export const tooLarge = (message: string): ServeError => new ServeError(message, 413, GRPC.RESOURCE_EXHAUSTED);
/** The queue is full or the server is draining: try again later (elsewhere). */
export const unavailable = (message: string, retryAfter = 1): ServeError =>
  new ServeError(message, 503, GRPC.UNAVAILABLE, retryAfter);
export const timedOut = (message: string): ServeError => new ServeError(message, 504, GRPC.DEADLINE_EXCEEDED);
