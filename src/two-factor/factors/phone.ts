import { createRequire } from 'node:module';
import type * as PhoneLibModule from 'libphonenumber-js/max';

type PhoneLib = typeof PhoneLibModule;
let phoneLib: PhoneLib | undefined;

/**
 * libphonenumber-js with its "max" metadata, which validates numbers against each
 * country's real number patterns (the default "min" build only checks lengths and
 * accepts unassigned ranges). Loaded on first use, synchronously through its
 * CommonJS build: with its metadata it is 1.6 MiB of live heap and ~9 MiB of RSS
 * (docs/architecture.md, Memory) that a service whose users never set up SMS does
 * not need.
 */
export function phoneNumbers(): PhoneLib {
  if (!phoneLib) {
    const require = createRequire(import.meta.url);
    phoneLib = require('libphonenumber-js/max') as PhoneLib;
  }
  return phoneLib;
}

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
  const phone = phoneNumbers().parsePhoneNumberFromString(text);
  return phone?.isValid() ? phone.number : null;
}
