import { isIP } from 'node:net';

/**
 * The client's address as something worth storing, or null. With TRUST_PROXY
 * on, `request.ip` is whatever the X-Forwarded-For header said, which a client
 * can fill with any text, of any length (audit_events.ip holds 64 characters).
 * Only a real IPv4 or IPv6 address is kept; anything else is recorded as an
 * unknown address, and the event is still audited.
 */
export function clientIp(ip: string | undefined): string | null {
  return ip !== undefined && isIP(ip) !== 0 ? ip : null;
}
