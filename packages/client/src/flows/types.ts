import type { components } from '../generated/api.js';

/** Named shapes of openapi.yaml, for callers who want to type their own state. */
export type Schemas = components['schemas'];
export type User = Schemas['User'];
export type SecondFactorMethod = Schemas['Method'];
export type Me = Schemas['Me'];
export type Device = Schemas['Device'];
export type SetupInfo = Schemas['TfSetupInfo'];
export type RescueOption = keyof Schemas['RecoveryOptions'];
