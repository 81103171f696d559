import { AppError } from '../../errors.js';
import type { TfDeps } from '../deps.js';
import { deleteSend, deleteSendsBefore, recordSendIf } from './code-sends.repository.js';

// At most one code per 30 s and 10 per hour, per user and per destination, so
// the service cannot be used to flood a phone or a mailbox (openapi.yaml: 429 RATE_LIMITED).
const MIN_GAP_SECONDS = 30;
const HOURLY_MAX = 10;
const HOUR_MS = 3600 * 1000;

/**
 * Checks the limits and records the send, one user at a time. Over the limit:
 * 429 RATE_LIMITED with the seconds until the next send is allowed.
 */
export async function checkAndRecordSend(deps: TfDeps, userId: number, destination: string): Promise<number> {
  const now = deps.clock.now();
  const since = new Date(now.getTime() - HOUR_MS);
  return recordSendIf(deps.db, { userId, destination, now, since }, (rows) => {
    const retryAfter = Math.max(
      wait(
        rows.filter((r) => r.user_id === userId),
        now,
      ),
      wait(
        rows.filter((r) => r.destination === destination),
        now,
      ),
    );
    if (retryAfter > 0) throw new AppError('RATE_LIMITED', { retryAfter });
  });
}

/** Seconds until another send is allowed for these (time-ordered) sends of the last hour; 0 if now. */
function wait(sends: Array<{ sent_at: Date }>, now: Date): number {
  let seconds = 0;
  const last = sends.at(-1);
  if (last) seconds = Math.max(seconds, MIN_GAP_SECONDS - (now.getTime() - new Date(last.sent_at).getTime()) / 1000);
  if (sends.length >= HOURLY_MAX) {
    const oldest = sends[sends.length - HOURLY_MAX]!;
    seconds = Math.max(seconds, (new Date(oldest.sent_at).getTime() + HOUR_MS - now.getTime()) / 1000);
  }
  return Math.ceil(Math.max(0, seconds));
}

/** A send the provider refused does not count against the user. */
export async function forgetSend(deps: TfDeps, id: number): Promise<void> {
  await deleteSend(deps.db, id);
}

/** Old rows serve no limit once they are an hour old. */
export async function pruneSends(deps: Pick<TfDeps, 'db'>, now: Date): Promise<void> {
  await deleteSendsBefore(deps.db, new Date(now.getTime() - HOUR_MS));
}
