import type { FastifyReply } from 'fastify';
import type { Config } from '../config.js';
import { cookiesSecure } from '../http/session.js';
import { DEVICE_COOKIE, type RememberedDevice } from './devices.service.js';

/** Sets the tf_validity cookie of a device the service remembered (handler side). */
export function setDeviceCookie(reply: FastifyReply, config: Config, device: RememberedDevice): void {
  reply.setCookie(DEVICE_COOKIE, device.token, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: cookiesSecure(config),
    maxAge: device.maxAge,
  });
}

export function clearDeviceCookie(reply: FastifyReply): void {
  reply.clearCookie(DEVICE_COOKIE, { path: '/' });
}
