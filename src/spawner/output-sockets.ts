/**
 * The runner's end of launched children's output: a unix socket in a private
 * directory (mode 0700) that each launched child's stdout and stderr connect
 * to, announced by a first line `<token> <fd>`. A connection with an unknown
 * token, or no header within its first 128 bytes, is closed unread.
 *
 * A runner killed outright leaves its directory behind; the next one on the
 * machine removes those whose process is gone.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from './alive.js';

const PREFIX = 'samgita-out-';
const MAX_HEADER = 128;

/** Where a launch's streams go once they connect. */
export interface OutputSlot {
  stream(fd: 1 | 2, socket: net.Socket): void;
}

export class OutputSockets {
  readonly path: string;
  private readonly dir: string;
  private readonly server: net.Server;
  private readonly slots = new Map<string, OutputSlot>();
  private readonly ready: Promise<void>;

  constructor() {
    sweepStale();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
    this.path = path.join(this.dir, 's');
    this.server = net.createServer((socket) => this.accept(socket));
    this.ready = new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.path, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    // Listening alone must not keep a finished `samgita run` alive.
    this.server.unref();
  }

  /** Resolves once the socket accepts connections; rejects when it cannot (a path too long for a unix socket). */
  listening(): Promise<void> {
    return this.ready;
  }

  expect(token: string, slot: OutputSlot): () => void {
    this.slots.set(token, slot);
    return () => this.slots.delete(token);
  }

  close(): void {
    this.server.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private accept(socket: net.Socket): void {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl < 0) {
        if (head.length > MAX_HEADER) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.pause();
      const [token, fd] = head.toString('latin1', 0, nl).split(' ');
      const slot = token ? this.slots.get(token) : undefined;
      if (!slot || (fd !== '1' && fd !== '2')) {
        socket.destroy();
        return;
      }
      if (nl + 1 < head.length) socket.unshift(head.subarray(nl + 1));
      slot.stream(fd === '1' ? 1 : 2, socket);
    };
    socket.on('data', onData);
    // A peer that goes away before its header has nothing for us.
    socket.on('error', () => socket.destroy());
  }
}

/** Directories of runner processes that no longer exist. */
function sweepStale(): void {
  let names: string[];
  try {
    names = fs.readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(PREFIX) ? /^(\d+)-/.exec(name.slice(PREFIX.length)) : null;
    if (!m || processAlive(Number(m[1]))) continue;
    try {
      fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
    } catch {
      // another user's, or going away already
    }
  }
}
