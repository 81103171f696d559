/**
 * @tfa-service/client: the transport (`createClient`, `TfaClient.call`, typed
 * from openapi.yaml) and one function per flow. README.md shows each flow.
 */
export { createClient, TfaClient, type ClientOptions } from './client.js';
export { TfaApiError, TfaNetworkError, TfaUsageError, type ErrorCode } from './errors.js';
export type { FetchLike, FetchInit, FetchResponse } from './http.js';
export type { CallOptions, Method, Ok, PathsFor, RequestBody } from './operations.js';
export type { paths, components } from './generated/api.js';
export * from './flows/types.js';
export * from './flows/sign-in.js';
export * from './flows/setup.js';
export * from './flows/rescue.js';
export * from './flows/account.js';
export * from './flows/keys.js';
export * from './flows/unified.js';
