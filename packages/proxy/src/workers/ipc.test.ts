// Tests the primary/worker message layer: message guards, request/reply matching, errors, deadlines and a
// worker that goes away with requests open.
import type { Snapshot } from '@strait/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { answer, isReply, isRequest, isStarted, Requester, type RequestMessage, WorkerError } from './ipc.ts';

/** A channel that keeps what was sent, so the test can play the worker. */
function recordingChannel(): { sent: unknown[]; send(message: unknown): boolean } {
  const sent: unknown[] = [];
  return { sent, send: (message) => sent.push(message) > 0 };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('message guards', () => {
  it('recognise only well-formed Strait messages', () => {
    expect(isRequest({ strait: 'request', id: 1, command: { kind: 'clusters' } })).toBe(true);
    expect(isRequest({ strait: 'request', id: 1, command: { kind: 'credentials', credentials: {} } })).toBe(
      true,
    );
    expect(isRequest({ strait: 'request', id: 1, command: { kind: 'reboot' } })).toBe(false);
    expect(isRequest({ strait: 'request', id: '1', command: { kind: 'clusters' } })).toBe(false);
    // prom-client's own cluster messages and anything else pass by.
    expect(isRequest({ type: 'prom-client:getMetricsReq', requestId: 1 })).toBe(false);
    expect(isRequest(null)).toBe(false);
    expect(isReply({ strait: 'reply', id: 3, ok: true, value: null })).toBe(true);
    expect(isReply({ strait: 'reply', id: 3 })).toBe(false);
    expect(isStarted({ strait: 'started', pid: 42 })).toBe(true);
    expect(isStarted({ strait: 'started' })).toBe(false);
  });
});

describe('Requester and answer', () => {
  it('matches replies to requests by id, in any order', async () => {
    const channel = recordingChannel();
    const requester = new Requester(channel);
    const clusters = requester.request({ kind: 'clusters' }, 1000);
    const level = requester.request({ kind: 'log-level', level: 'debug' }, 1000);
    const [first, second] = channel.sent as RequestMessage[];
    expect(first?.command).toEqual({ kind: 'clusters' });
    expect(second?.id).not.toBe(first?.id);
    expect(requester.handle(await answer(second as RequestMessage, () => true))).toBe(true);
    expect(requester.handle(await answer(first as RequestMessage, () => [{ name: 'c' }]))).toBe(true);
    expect(await clusters).toEqual([{ name: 'c' }]);
    expect(await level).toBe(true);
    expect(requester.pending).toBe(0);
    // A late or unknown reply is ours but changes nothing; a foreign message is not ours.
    expect(requester.handle({ strait: 'reply', id: 999, ok: true, value: 1 })).toBe(true);
    expect(requester.handle({ hello: 'world' })).toBe(false);
  });

  it("passes a worker's error back with its code (what becomes a NACK)", async () => {
    const channel = recordingChannel();
    const requester = new Requester(channel);
    const snapshot = { version: 'v9' } as Snapshot;
    const applying = requester.request({ kind: 'apply', snapshot }, 1000);
    const request = channel.sent[0] as RequestMessage;
    const reply = await answer(request, () => {
      throw Object.assign(new Error('snapshot is invalid: bad regex'), { code: 'STRAIT_SNAPSHOT_INVALID' });
    });
    expect(reply).toEqual({
      strait: 'reply',
      id: request.id,
      ok: false,
      error: { code: 'STRAIT_SNAPSHOT_INVALID', message: 'snapshot is invalid: bad regex' },
    });
    requester.handle(reply);
    await expect(applying).rejects.toMatchObject({
      name: 'WorkerError',
      code: 'STRAIT_SNAPSHOT_INVALID',
      message: 'snapshot is invalid: bad regex',
      answered: true,
    });
  });

  it('answers null for a handler that returns nothing, and a codeless error for a non-Error throw', async () => {
    const request: RequestMessage = { strait: 'request', id: 7, command: { kind: 'drain' } };
    expect(await answer(request, () => undefined)).toEqual({ strait: 'reply', id: 7, ok: true, value: null });
    expect(
      await answer(request, () => {
        throw 'nope';
      }),
    ).toEqual({ strait: 'reply', id: 7, ok: false, error: { code: undefined, message: 'nope' } });
  });

  it('gives up on a worker that does not answer in time', async () => {
    vi.useFakeTimers();
    const requester = new Requester(recordingChannel());
    const pending = requester.request({ kind: 'metrics' }, 500);
    const check = expect(pending).rejects.toThrow('worker did not answer "metrics" within 500 ms');
    await vi.advanceTimersByTimeAsync(501);
    await check;
    expect(requester.pending).toBe(0);
  });

  it('fails open and later requests once the worker is gone', async () => {
    const requester = new Requester(recordingChannel());
    const open = requester.request({ kind: 'clusters' }, 10_000);
    requester.close('worker 1 exited');
    await expect(open).rejects.toThrow(WorkerError);
    await expect(open).rejects.toThrow('worker 1 exited');
    await expect(open).rejects.toMatchObject({ answered: false });
    await expect(requester.request({ kind: 'clusters' }, 10_000)).rejects.toThrow('worker 1 exited');
  });

  it('fails a request whose channel cannot send', async () => {
    const requester = new Requester({
      send: () => {
        throw new Error('channel closed');
      },
    });
    await expect(requester.request({ kind: 'clusters' }, 1000)).rejects.toThrow(
      'could not reach the worker: channel closed',
    );
    expect(requester.pending).toBe(0);
  });
});
