/**
 * Cookies for a client outside a browser (Node), for one service origin.
 * The service keeps a pending sign-in and the session in the `session` cookie
 * and a remembered device in `tf_validity` (README, Browser flow), so a Node
 * caller needs a jar even in token mode. Every cookie the service sets has
 * Path=/ and no Domain, so name → value is all that is kept. Like a browser,
 * the jar keeps a `Secure` cookie only for https or a loopback host.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();
  private readonly secureOk: boolean;

  constructor(baseUrl: string) {
    // No URL class in the package's lib (ES2022 only): scheme and host by hand.
    const m = /^(\w+):\/\/(\[[^\]]*\]|[^/:?#]*)/.exec(baseUrl);
    const [, scheme = '', host = ''] = m ?? [];
    this.secureOk =
      scheme.toLowerCase() === 'https' || ['localhost', '127.0.0.1', '[::1]'].includes(host.toLowerCase());
  }

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  store(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attr = (key: string) =>
        attributes
          .find((a) => a.toLowerCase().startsWith(key))
          ?.slice(key.length)
          .trim() ?? undefined;
      if (attributes.some((a) => a.toLowerCase() === 'secure') && !this.secureOk) continue;
      const maxAge = attr('max-age=');
      const expires = attr('expires=');
      const expired =
        (maxAge !== undefined && Number(maxAge) <= 0) ||
        (expires !== undefined && Date.parse(expires) <= Date.now()) ||
        value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  clear(): void {
    this.cookies.clear();
  }
}

/**
 * Set-Cookie lines from a fetch without `getSetCookie` (Node before 19.7 and
 * some polyfills join them into one header with commas). A comma starts a new
 * cookie only when `name=` follows, so the comma inside `Expires=Thu, 01 …`
 * stays where it is.
 */
export function splitSetCookie(joined: string | null): string[] {
  return joined ? joined.split(/,(?=\s*[^;,=\s]+=)/).map((s) => s.trim()) : [];
}
