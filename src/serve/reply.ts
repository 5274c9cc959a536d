/** What the endpoints answer with and what they may read of the server; errors as the protocol's error object. */
import { GPUUnavailableError, InputError } from '../errors.js';
import type { ServerMetrics } from './metrics.js';
import { MODEL_VERSION, type ServedModel } from './served-model.js';
import { notFound, ServeError } from './errors.js';
import type { Withdrawals } from './withdrawals.js';

/** An answer: JSON `body`, or `text` / `bytes` of `type`, with extra headers. */
export interface Reply {
  status: number;
  body?: unknown;
  text?: string;
  bytes?: Uint8Array;
  type?: string;
  headers?: Record<string, string>;
  /** The error's message, for the access log. */
  error?: string;
  /** The model the request was for, for the access log and metrics. */
  model?: string;
}

export interface ServerState {
  version: string;
  models: ReadonlyMap<string, ServedModel>;
  metrics: ServerMetrics;
  /** Every model loaded and the server not draining. */
  ready(): boolean;
  /**
   * Runs `work` within the request timeout; on timeout (504), or when `gone` resolves (the client went away), the
   * queued jobs it registered are withdrawn, so no batch computes an answer nobody waits for.
   */
  withDeadline<T>(work: (withdrawals: Withdrawals) => Promise<T>, gone?: Promise<void>): Promise<T>;
}

/** The served model `name` (at `version`, when one is asked), else a 404 / NOT_FOUND naming what there is. */
export function servedModel(state: ServerState, name: string, version?: string): ServedModel {
  const model = state.models.get(name);
  if (!model) throw notFound(`no model ${name} (${[...state.models.keys()].join(', ')})`);
  if (version && version !== MODEL_VERSION)
    throw notFound(`model ${name} has no version ${version} (${MODEL_VERSION})`);
  return model;
}

/**
 * An error as the protocol's `{ "error": message }`: a ServeError with its status, the caller's input (InputError)
 * 400, a GPU lost again after the retry 503, anything else 500.
 */
export function errorReply(err: unknown, model?: string): Reply {
  const message = err instanceof Error ? err.message : String(err);
  const status =
    err instanceof ServeError
      ? err.status
      : err instanceof InputError
        ? 400
        : err instanceof GPUUnavailableError
          ? 503
          : 500;
  const headers: Record<string, string> =
    err instanceof ServeError && err.retryAfter !== undefined ? { 'Retry-After': String(err.retryAfter) } : {};
  return { status, body: { error: message }, headers, error: message, ...(model && { model }) };
}
