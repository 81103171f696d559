import type { Api, UserResult } from './api.js';

/**
 * Security keys (tfa-service's /wan-* endpoints, Flask-Security's wire): the options
 * arrive as JSON with base64url members, which the browser's own parsers turn into what
 * navigator.credentials takes; the credential goes back as JSON, in a string, as
 * Flask-Security's clients send it.
 */
interface Options {
  credential_options: unknown;
  wan_state: string;
}

type Ctor = typeof PublicKeyCredential & {
  parseCreationOptionsFromJSON(json: unknown): PublicKeyCredentialCreationOptions;
  parseRequestOptionsFromJSON(json: unknown): PublicKeyCredentialRequestOptions;
};
const PKC = () => PublicKeyCredential as Ctor;

function asJson(credential: Credential | null): string {
  if (!credential) throw new Error('The security key gave no answer.');
  return JSON.stringify((credential as PublicKeyCredential).toJSON());
}

/** POST /wan-register {name}, the browser's create(), POST /wan-register/{wan_state}. */
export async function registerKey(api: Api, name: string): Promise<void> {
  const start = await api.post<Options>('/wan-register', { name, usage: 'secondary' });
  const publicKey = PKC().parseCreationOptionsFromJSON(start.credential_options);
  const credential = asJson(await navigator.credentials.create({ publicKey }));
  await api.post<UserResult>(`/wan-register/${encodeURIComponent(start.wan_state)}`, { credential });
}

/** The second step of a sign-in: POST /wan-signin, the browser's get(), POST /wan-signin/{wan_state}. */
export async function signInWithKey(api: Api, signinUrl: string): Promise<void> {
  const start = await api.post<Options>(signinUrl, {});
  const publicKey = PKC().parseRequestOptionsFromJSON(start.credential_options);
  const credential = asJson(await navigator.credentials.get({ publicKey }));
  await api.post<UserResult>(`${signinUrl}/${encodeURIComponent(start.wan_state)}`, { credential });
}
