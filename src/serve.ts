/**
 * webgpu-resnet/serve (Node): models behind an Open Inference Protocol server with dynamic batching,
 * Prometheus metrics and a drain, for embedding in a Node program; `webgpu-resnet serve` is the same from the
 * command line. docs/serve.md.
 */
export { createServer, type InferenceServer, type ServeOptions } from './serve/server.js';
export { ServeError } from './serve/errors.js';
