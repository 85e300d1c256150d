/**
 * Real repositories over smart HTTP for tests: `git http-backend` (ships with
 * git) run as a CGI per request. Every request must carry Basic auth whose
 * password is an installation token that is currently valid for the
 * repository, as GitHub requires (`x-access-token:<token>`).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitServer {
  url: string;
  /** Requests refused for a missing/invalid token (for assertions). */
  refused: string[];
  /** Pushes received: repository full name and the refs line git reported. */
  pushes: { repo: string; at: number }[];
  close(): Promise<void>;
}

export async function startGitServer(opts: {
  /** Directory holding <owner>/<repo>.git bare repositories. */
  root: string;
  tokenValid: (token: string, fullName: string) => boolean;
}): Promise<GitServer> {
  const refused: string[] = [];
  const pushes: GitServer['pushes'] = [];
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    const m = /^\/([^/]+)\/([^/]+?)\.git(\/.*)$/.exec(u.pathname);
    if (!m) {
      res.writeHead(404).end('not found');
      return;
    }
    const fullName = `${m[1]}/${m[2]}`;
    const auth = req.headers.authorization ?? '';
    const basic = /^Basic (.+)$/i.exec(auth)?.[1];
    const [user, token] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':') : [];
    if (!token || user !== 'x-access-token' || !opts.tokenValid(token, fullName)) {
      refused.push(`${req.method} ${u.pathname}`);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"' }).end('Invalid username or token.');
      return;
    }
    if (u.pathname.endsWith('/git-receive-pack')) pushes.push({ repo: fullName, at: Date.now() });
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: opts.root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: `/${m[1]}/${m[2]}.git${m[3]}`,
        QUERY_STRING: u.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: user,
        REMOTE_ADDR: '127.0.0.1',
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
        HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.receivepack',
        GIT_CONFIG_VALUE_0: 'true',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('utf8').split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number.parseInt(v, 10);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    child.stdout.on('end', () => res.end());
    child.on('error', () => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    refused,
    pushes,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
