import type { AppDeps } from '../deps.js';

/** What the two-factor services use of the app's dependencies (deps.ts). */
export type TfDeps = Pick<AppDeps, 'config' | 'db' | 'clock' | 'hmac' | 'box' | 'senders' | 'audit' | 'metrics'>;
