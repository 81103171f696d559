/**
 * A webhook receiver on 127.0.0.1 (README, "Webhooks"): records every request,
 * answers 204 unless the test scripts failures, hangs or resets
 * (FakeProviderServer), and can go down and come back on the same port.
 */
import { Webhook } from 'standardwebhooks';
import { FakeProviderServer, type HttpAnswer, type RecordedRequest } from './fake-provider.js';

/** A valid secret of the Standard Webhooks form (32 bytes of key). */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from('test-webhook-key-0123456789abcdef').toString('base64')}`;

export interface ReceivedEvent {
  id: string;
  type: string;
  userId: number | null;
  details: Record<string, unknown>;
  request: RecordedRequest;
}

export class WebhookReceiver extends FakeProviderServer {
  private port = 0;
  listening = false;

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await receiver.start();
    return receiver;
  }

  override async start(port = this.port): Promise<string> {
    const url = await super.start(port);
    this.port = Number(new URL(url).port);
    this.listening = true;
    return url;
  }

  override async stop(): Promise<void> {
    this.listening = false;
    await super.stop();
  }

  protected defaultAnswer(): HttpAnswer {
    return { status: 204 };
  }

  /** Requests we answered with a 2xx: the deliveries that count, in the order they arrived. */
  accepted(): ReceivedEvent[] {
    return this.requests.filter((r) => (r.answeredStatus ?? 0) >= 200 && (r.answeredStatus ?? 0) < 300).map(toEvent);
  }

  /**
   * Checks every request's signature with the Standard Webhooks reference
   * library (an implementation independent of ours); throws on the first bad one.
   * Its timestamp check is against the real clock, so tests that move their
   * clock far check with `verifyAt` instead.
   */
  verifyAll(secret = TEST_WEBHOOK_SECRET): void {
    const wh = new Webhook(secret);
    for (const r of this.requests) wh.verify(r.rawBody, r.headers as Record<string, string>);
  }
}

function toEvent(r: RecordedRequest): ReceivedEvent {
  const body = r.body as {
    type: string;
    data: { id: string; user_id: number | null; details: Record<string, unknown> };
  };
  return { id: body.data.id, type: body.type, userId: body.data.user_id, details: body.data.details, request: r };
}
