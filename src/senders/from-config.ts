import type { Config } from '../config/schema.js';
import type { SendersConfig } from './types.js';

/** The slice of the service configuration that delivery needs (README configuration). */
export function sendersConfig(config: Config): SendersConfig {
  return {
    emailService: config.EMAIL_SERVICE,
    smsService: config.SECURITY_SMS_SERVICE,
    emailSender: config.SECURITY_EMAIL_SENDER,
    ...(config.SENDGRID_API_KEY ? { sendgridApiKey: config.SENDGRID_API_KEY } : {}),
    ...(config.SENDGRID_API_URL ? { sendgridApiUrl: config.SENDGRID_API_URL } : {}),
    ...(config.SECURITY_SMS_SERVICE_CONFIG ? { smsServiceConfig: config.SECURITY_SMS_SERVICE_CONFIG } : {}),
    ...(config.TWILIO_API_URL ? { twilioApiUrl: config.TWILIO_API_URL } : {}),
    ...(config.OUTBOX_FILE ? { outboxFile: config.OUTBOX_FILE } : {}),
  };
}
