import { ConfigProblem, type Field } from '../config/parse.js';
import { phoneNumbers } from '../two-factor/factors/phone.js';

/**
 * SECURITY_SMS_ALLOWED_COUNTRIES: where SMS codes may go. Empty (the default)
 * is everywhere. Entries are E.164 prefixes ("+44", "+1415") or ISO 3166
 * alpha-2 countries ("GB", "DE"); a number is allowed when it starts with one
 * of the prefixes or belongs to one of the countries. SMS pumping fraud lives
 * on premium ranges of countries a service has no users in: listing the
 * countries you serve is the cheapest defence SMS providers advise.
 */
export const allowedCountries: Field<readonly string[]> = {
  parse(raw, name) {
    const entries = (raw ?? '')
      .split(',')
      .map((e) => e.trim().toUpperCase())
      .filter((e) => e !== '');
    const bad = entries.filter(
      (e) => !/^\+[1-9]\d{0,5}$/.test(e) && !(/^[A-Z]{2}$/.test(e) && phoneNumbers().isSupportedCountry(e)),
    );
    if (bad.length)
      throw new ConfigProblem(
        `${name} takes E.164 prefixes like +44 or ISO country codes like GB (not valid: ${bad.map((b) => `"${b}"`).join(', ')})`,
      );
    return entries;
  },
};

/** Whether an E.164 number may receive SMS under the allow-list (empty: every number). */
export function smsCountryAllowed(allowed: readonly string[], e164: string): boolean {
  if (allowed.length === 0) return true;
  const country = phoneNumbers().parsePhoneNumberFromString(e164)?.country;
  return allowed.some((entry) => (entry.startsWith('+') ? e164.startsWith(entry) : entry === country));
}
