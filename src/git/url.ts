import path from 'node:path';

/**
 * Git URLs as the API accepts them. Remote forms: `https://`, `http://`,
 * `ssh://`, `git://` and scp-like `user@host:path`. Local forms: an absolute
 * path or `file://`. Everything else is refused, notably git's
 * `<transport>::<address>` remote-helper syntax (`ext::sh -c …` runs a command)
 * and anything that starts with `-` (an option to git or ssh).
 */
export type GitUrlKind = { kind: 'remote' } | { kind: 'local'; path: string };

export class GitUrlError extends Error {}

const REMOTE_SCHEMES = new Set(['https:', 'http:', 'ssh:', 'git:']);

/** Classifies `url`; throws GitUrlError with a reason when it is not an accepted form. */
export function classifyGitUrl(raw: string): GitUrlKind {
  const url = raw.trim();
  if (!url) throw new GitUrlError('is empty');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(url)) throw new GitUrlError('contains control characters');
  if (url.startsWith('-')) throw new GitUrlError('must not start with "-"');
  if (/^[a-z0-9][a-z0-9+.-]*::/i.test(url)) {
    throw new GitUrlError('uses a git remote-helper transport (<transport>::<address>), which is not allowed');
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (scheme) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new GitUrlError('is not a valid URL');
    }
    if (u.protocol === 'file:') {
      if (u.hostname && u.hostname !== 'localhost') throw new GitUrlError('file:// URLs must not name a host');
      const p = decodeURIComponent(u.pathname);
      if (!path.isAbsolute(p)) throw new GitUrlError('file:// URLs need an absolute path');
      return { kind: 'local', path: p };
    }
    if (!REMOTE_SCHEMES.has(u.protocol.toLowerCase())) {
      throw new GitUrlError(`uses an unsupported scheme ${u.protocol.slice(0, 20)}//`);
    }
    if (!u.hostname) throw new GitUrlError('has no host');
    // A credential in the URL would be stored, shown and logged with the project: it belongs to git's credential store.
    if (u.password || (u.username && /^https?:$/i.test(u.protocol))) {
      throw new GitUrlError(
        'carries credentials (user:token@); give the URL without them and let git find them (a credential helper, or the GitHub App)',
      );
    }
    if (u.hostname.startsWith('-') || decodeURIComponent(u.username).startsWith('-')) {
      throw new GitUrlError('has a host or user that starts with "-"');
    }
    return { kind: 'remote' };
  }
  if (path.isAbsolute(url)) return { kind: 'local', path: url };
  // scp-like: [user@]host:path, with no slash before the colon (git's own rule).
  const scp = /^(?:([^@/:\s]+)@)?([^@/:\s]+):(.+)$/.exec(url);
  if (scp) {
    const [, user, host, rest] = scp;
    if (host!.startsWith('-') || user?.startsWith('-'))
      throw new GitUrlError('has a host or user that starts with "-"');
    if (rest!.startsWith('-')) throw new GitUrlError('has a path that starts with "-"');
    return { kind: 'remote' };
  }
  throw new GitUrlError('is not an https://, http://, ssh://, git://, file:// URL, git@host:org/repo or absolute path');
}

/**
 * `text` with the credentials of any URL in it replaced by `***`: the whole
 * user-info of http(s) URLs (tokens are often sent as the user name), the
 * password part of others. `ssh://git@host` keeps its user name.
 */
export function redactUrl(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*):\/\/([^\s/@]+)@/gi, (_m, scheme: string, info: string) => {
    if (/^https?$/i.test(scheme)) return `${scheme}://***@`;
    const colon = info.indexOf(':');
    return colon < 0 ? `${scheme}://${info}@` : `${scheme}://${info.slice(0, colon)}:***@`;
  });
}
