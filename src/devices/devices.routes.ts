import type { FastifyInstance } from 'fastify';
import { auditContext } from '../audit/audit.js';
import { AppError } from '../errors.js';
import { requireAuth, requireFresh } from '../http/auth-context.js';
import { deleteDevice, deleteUserDevices, listDevices } from './devices.repository.js';
import { clearDeviceCookie, deviceView, presentedDeviceHash, type DeviceDeps } from './devices.service.js';

/** Remembered devices (beyond Flask-Security): list, and revoke one or all. */
export async function devicesRoutes(app: FastifyInstance, deps: DeviceDeps): Promise<void> {
  const list = async (userId: number, fsu: string, currentHash: string | undefined) => {
    const devices = await listDevices(deps.db, userId, fsu, deps.clock.now());
    return { devices: devices.map((d) => deviceView(d, currentHash)) };
  };

  app.get('/tf-devices', async (request) => {
    const auth = requireAuth(request);
    return list(auth.user.id, auth.user.fs_uniquifier, presentedDeviceHash(deps, request));
  });

  app.delete<{ Params: { id: string } }>('/tf-devices/:id', async (request, reply) => {
    const auth = requireFresh(request, deps.config, deps.clock);
    const current = presentedDeviceHash(deps, request);
    const devices = await listDevices(deps.db, auth.user.id, auth.user.fs_uniquifier, deps.clock.now());
    const target = devices.find((d) => d.id === request.params.id);
    if (!target || !(await deleteDevice(deps.db, auth.user.id, target.id))) throw new AppError('NOT_FOUND');
    if (target.token_hash === current) clearDeviceCookie(reply);
    await deps.audit.record(deps.db, 'device.revoked', auth.user.id, auditContext(request), { device: target.id });
    return list(auth.user.id, auth.user.fs_uniquifier, current);
  });

  app.delete('/tf-devices', async (request, reply) => {
    const auth = requireFresh(request, deps.config, deps.clock);
    const n = await deleteUserDevices(deps.db, auth.user.id);
    clearDeviceCookie(reply);
    await deps.audit.record(deps.db, 'device.revoked', auth.user.id, auditContext(request), { all: true, count: n });
    return { devices: [] };
  });
}
