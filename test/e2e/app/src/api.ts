import type { components } from '../../../../packages/client/src/generated/api.js';

/** The answers this SPA reads, typed from openapi.yaml (packages/client/src/generated/api.ts): the contract is the only coupling. */
type S = components['schemas'];
export type LoginInfo = S['LoginInfo'];
export type LoginResult = S['LoginSignedIn'] | S['LoginSetupRequired'] | S['LoginReady'] | S['LoginSelect'];
export type Me = S['Me'];
export type SetupResult = S['TfSetupStartedCode'] | S['TfSetupStartedAuthenticator'];
export type UserResult = S['UserResult'];
export type Rescue = S['Rescue'];
export type RecoveryCodes = S['RecoveryCodesNew'];
export type Devices = S['Devices'];
export type UsSetupResult = S['UsSetupResult'];
type ErrorBody = Partial<S['Error']>;

/** An error answer of the API, carrying the envelope's messages and stable key. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly messages: string[],
    readonly code: string | undefined,
  ) {
    super(messages.join(' '));
  }
}

/**
 * Every call goes to the API's origin with the browser's cookies
 * (credentials: 'include') and, on state changes, the csrf_token of the
 * latest answer in X-CSRF-Token: the token is an HMAC of the session id, so
 * it changes whenever the session id rotates (sign-in, second factor).
 */
export class Api {
  private csrf = '';

  constructor(private readonly base: string) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: object = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }

  private async call<T>(method: string, path: string, body?: object): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        credentials: 'include',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      // A CORS refusal looks like this too: the browser hides the answer from the page.
      throw new ApiError(0, [`Network error: ${(err as Error).message}`], undefined);
    }
    const data = (await res.json().catch(() => null)) as { response?: Record<string, unknown> } | null;
    const response = data?.response ?? {};
    if (typeof response.csrf_token === 'string') this.csrf = response.csrf_token;
    if (!res.ok) {
      const e = response as ErrorBody;
      throw new ApiError(res.status, e.errors?.length ? e.errors : [`HTTP ${res.status}`], e.error_code);
    }
    // POST /logout answers {} without a token: the session (and so its token) is gone.
    if (path === '/logout') this.csrf = '';
    return response as T;
  }
}
