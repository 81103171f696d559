// The "max" metadata validates numbers against each country's real number
// patterns; the default "min" build only checks lengths and accepts unassigned ranges.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

// Digits and the separators people type; letters (vanity numbers, "ext.") are refused.
const ALLOWED = /^\+[0-9 ()./-]+$/;
// E.164 allows 15 digits; generous room for separators, but no unbounded parsing.
const MAX_INPUT_LENGTH = 32;

/**
 * A phone number for SMS codes → E.164 ("+14155550123"), or null (PHONE_INVALID).
 * An international number is required: the service has no idea of the user's
 * country, so a national form like "(415) 555-0123" is refused rather than guessed.
 */
export function normalizePhone(input: string): string | null {
  if (typeof input !== 'string') return null;
  const text = input.trim();
  if (text.length > MAX_INPUT_LENGTH || !ALLOWED.test(text)) return null;
  const phone = parsePhoneNumberFromString(text);
  return phone?.isValid() ? phone.number : null;
}
