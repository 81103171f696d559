/**
 * The security e-mails by the names SECURITY_NOTIFICATIONS takes (README,
 * "Security e-mails"); a file of its own so the config schema can read it
 * without the event types (notices.ts maps those).
 */
export const NOTICES = [
  'tf_setup',
  'tf_disabled',
  'recovery_codes_generated',
  'recovery_code_used',
  'recovery_codes_low',
  'tf_locked',
  'device_remembered',
  'key_registered',
  'key_removed',
  'tf_reset',
] as const;
export type Notice = (typeof NOTICES)[number];
