/**
 * A LISTEN connection on `samgita_events` (the events insert trigger's
 * pg_notify) of its own, re-established a second after it is lost.
 */
import type pg from 'pg';

const CHANNEL = 'samgita_events';

export interface EventListener {
  close(): Promise<void>;
}

/** Calls `onPayload` with each notification's payload; `onConnectError` when LISTEN cannot be set up (it retries). */
export async function listenToEvents(
  pool: pg.Pool,
  onPayload: (payload: string) => void,
  onConnectError: (err: unknown) => void,
): Promise<EventListener> {
  let client: pg.PoolClient | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let releaseListener: () => void = () => {};
  const onNotice = (msg: pg.Notification) => {
    if (msg.payload) onPayload(msg.payload);
  };
  const connect = async () => {
    if (closed) return;
    try {
      const c = await pool.connect();
      let released = false;
      const onError = () => {
        // Once handed back to the pool the client is the pool's to clean up: releasing
        // it again would throw (seen when the database was dropped after stop()).
        if (released) return;
        released = true;
        c.release(true);
        if (client === c) client = null;
        if (!closed) retry = setTimeout(connect, 1_000);
      };
      c.on('notification', onNotice);
      c.on('error', onError);
      releaseListener = () => {
        if (released) return;
        released = true;
        c.off('notification', onNotice);
        c.off('error', onError);
        c.release();
      };
      await c.query(`listen ${CHANNEL}`);
      client = c;
    } catch (err) {
      onConnectError(err);
      if (!closed) retry = setTimeout(connect, 1_000);
    }
  };
  await connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = null;
      if (c) {
        await c.query(`unlisten ${CHANNEL}`).catch(() => {});
        releaseListener();
      }
    },
  };
}
