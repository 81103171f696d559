import type { FastifyInstance } from 'fastify';
import { requireAuth, requireFresh } from '../http/auth-context.js';
import { callerOf } from '../http/caller.js';
import { clearDeviceCookie } from './device-cookie.js';
import {
  listDeviceViews,
  presentedDeviceHash,
  revokeAllDevices,
  revokeDevice,
  type DeviceDeps,
} from './devices.service.js';

/** Remembered devices (beyond Flask-Security): list, and revoke one or all. */
export async function devicesRoutes(app: FastifyInstance, deps: DeviceDeps): Promise<void> {
  app.get('/tf-devices', async (request) => {
    const auth = requireAuth(request);
    return { devices: await listDeviceViews(deps, auth.user, presentedDeviceHash(deps, callerOf(request))) };
  });

  app.delete<{ Params: { id: string } }>('/tf-devices/:id', async (request, reply) => {
    const auth = requireFresh(request, deps.config, deps.clock);
    const caller = callerOf(request);
    const current = presentedDeviceHash(deps, caller);
    const { wasCurrent } = await revokeDevice(deps, auth.user, request.params.id, current, caller.audit);
    if (wasCurrent) clearDeviceCookie(reply);
    return { devices: await listDeviceViews(deps, auth.user, current) };
  });

  app.delete('/tf-devices', async (request, reply) => {
    const auth = requireFresh(request, deps.config, deps.clock);
    await revokeAllDevices(deps, auth.user.id, callerOf(request).audit);
    clearDeviceCookie(reply);
    return { devices: [] };
  });
}
