import type { TfaClient } from '../client.js';
import { TfaUsageError } from '../errors.js';
import type { Schemas, User } from './types.js';

/** A registered security key as GET /wan-register lists it (no secret: the public key stays in the service). */
export type SecurityKey = Schemas['WanKey'];

/**
 * What makes and uses a key. The service sends its options as JSON with
 * base64url members (PublicKeyCredentialCreationOptionsJSON and
 * PublicKeyCredentialRequestOptionsJSON of WebAuthn Level 3), and wants the
 * credential back as JSON. In a browser that is `browserKeys()`; in Node,
 * anything that plays the authenticator (a test's software key).
 */
export interface KeyCeremony {
  /** navigator.credentials.create(): the new credential as RegistrationResponseJSON. */
  create(options: unknown): Promise<unknown>;
  /** navigator.credentials.get(): the assertion as AuthenticationResponseJSON. */
  get(options: unknown): Promise<unknown>;
}

/** The parts of the browser's WebAuthn API that `browserKeys` uses (the package is typed without the DOM). */
interface BrowserWebAuthn {
  PublicKeyCredential?: {
    parseCreationOptionsFromJSON?(json: unknown): unknown;
    parseRequestOptionsFromJSON?(json: unknown): unknown;
  };
  navigator?: { credentials?: { create(o: unknown): Promise<unknown>; get(o: unknown): Promise<unknown> } };
}

/**
 * The browser's authenticators (security keys, passkeys), through
 * navigator.credentials and the JSON helpers of WebAuthn Level 3
 * (Chrome 129+, Firefox 119+, Safari 18.4+). The page must be a secure context
 * on the RP id's domain (SECURITY_WAN_RP_ID) and one of SECURITY_WAN_ORIGINS.
 * A user who cancels, or a browser without a key, rejects with the browser's
 * DOMException (NotAllowedError).
 */
export function browserKeys(): KeyCeremony {
  const web = globalThis as BrowserWebAuthn;
  const pkc = web.PublicKeyCredential;
  const credentials = web.navigator?.credentials;
  if (!pkc?.parseCreationOptionsFromJSON || !pkc.parseRequestOptionsFromJSON || !credentials)
    throw new TfaUsageError('This browser cannot use security keys here (WebAuthn Level 3 JSON, secure context).');
  const asJson = (credential: unknown) => {
    if (!credential) throw new TfaUsageError('The browser returned no credential.');
    return (credential as { toJSON(): unknown }).toJSON();
  };
  return {
    create: async (options) =>
      asJson(await credentials.create({ publicKey: pkc.parseCreationOptionsFromJSON!(options) })),
    get: async (options) => asJson(await credentials.get({ publicKey: pkc.parseRequestOptionsFromJSON!(options) })),
  };
}

/**
 * Adds a security key as a second factor: POST /wan-register {name}, the
 * authenticator's ceremony, POST /wan-register/{wan_state}. Needs a fresh
 * session (401 with `reauthRequired`: `reauthenticate` first). A name the
 * user already gave a key: `WEBAUTHN_NAME_INUSE`.
 */
export async function registerKey(client: TfaClient, name: string, ceremony: KeyCeremony): Promise<User> {
  const start = await client.call('post', '/wan-register', { body: { name, usage: 'secondary' } });
  const credential = JSON.stringify(await ceremony.create(start.credential_options));
  const done = await client.call('post', '/wan-register/{wan_state}', {
    params: { wan_state: start.wan_state },
    body: { credential },
  });
  return done.user;
}

/**
 * The second step of a sign-in whose `signIn` answered `key-required`:
 * POST /wan-signin, the authenticator's assertion, POST /wan-signin/{wan_state}.
 * A key the service does not know is `WEBAUTHN_UNKNOWN_CREDENTIAL_ID`, one that
 * fails verification (another origin, a cloned key) `WEBAUTHN_NO_VERIFY`; both
 * are charged to the sign-in's attempts like a wrong code.
 */
export async function signInWithKey(client: TfaClient, ceremony: KeyCeremony): Promise<User> {
  const start = await client.call('post', '/wan-signin', { body: {} });
  const credential = JSON.stringify(await ceremony.get(start.credential_options));
  const done = await client.call('post', '/wan-signin/{wan_state}', {
    params: { wan_state: start.wan_state },
    body: { credential },
    query: client.signInQuery(),
  });
  return done.user;
}

/** GET /wan-register: the user's keys (fresh session required, as Flask-Security has it). */
export async function listKeys(client: TfaClient): Promise<SecurityKey[]> {
  return (await client.call('get', '/wan-register')).registered_credentials;
}

/** POST /wan-delete {name}: removes one key (fresh session required); answers the keys left. */
export async function deleteKey(client: TfaClient, name: string): Promise<SecurityKey[]> {
  await client.call('post', '/wan-delete', { body: { name } });
  return listKeys(client);
}

/**
 * Freshness regained with one of the user's keys, when a call answered 401 with
 * `reauthRequired`: POST /wan-verify, the authenticator's assertion, POST
 * /wan-verify/{wan_state}. Another user's key is `WEBAUTHN_UNKNOWN_CREDENTIAL_ID`.
 */
export async function reauthenticateWithKey(client: TfaClient, ceremony: KeyCeremony): Promise<User> {
  const start = await client.call('post', '/wan-verify', { body: {} });
  const credential = JSON.stringify(await ceremony.get(start.credential_options));
  const done = await client.call('post', '/wan-verify/{wan_state}', {
    params: { wan_state: start.wan_state },
    body: { credential },
    query: client.signInQuery(),
  });
  return done.user;
}
