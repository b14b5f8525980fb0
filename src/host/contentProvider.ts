import { constants } from 'node:fs';
import * as vscode from 'vscode';
import { Git } from '../core/git/git';
import { openNoFollow } from '../core/util/openNoFollow';

/** The scheme of the read-only documents of Tapps Flow: blobs of a run, and step logs. */
export const SCHEME = 'tapps-flow';

/** The parameters of a document, carried in its URI's query. */
export type ContentQuery =
  | {
      readonly type: 'blob';
      readonly repo: string;
      readonly blob: string | null;
      readonly label: string;
      /** The conflict the version belongs to, if any: its run and path (the tabs of a conflict are found by them). */
      readonly run?: string;
      readonly conflict?: string;
    }
  | { readonly type: 'log'; readonly file: string };

/** A URI whose path names the file (for the editor's language and title) and whose query holds the rest. */
export function contentUri(displayPath: string, query: ContentQuery): vscode.Uri {
  return vscode.Uri.from({ scheme: SCHEME, path: `/${displayPath.replace(/^\/+/, '')}`, query: JSON.stringify(query) });
}

export function parseQuery(uri: vscode.Uri): ContentQuery {
  return JSON.parse(uri.query) as ContentQuery;
}

/** The run and path of the conflict a document of ours shows a version of; `undefined` for any other URI. */
export function conflictOfUri(uri: vscode.Uri): { readonly run: string; readonly path: string } | undefined {
  if (uri.scheme !== SCHEME) return undefined;
  try {
    const query = parseQuery(uri);
    return query.type === 'blob' && typeof query.run === 'string' && typeof query.conflict === 'string'
      ? { run: query.run, path: query.conflict }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Serves blob contents (by id, through git) and step logs (re-read when they change) as read-only
 * documents, so diff editors can show any version without touching the working tree.
 */
export class ContentProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const query = parseQuery(uri);
    if (query.type === 'log') return readLog(query.file);
    if (query.blob === null) return '';
    // git runs programs the repository's configuration names: not in an untrusted workspace.
    if (!vscode.workspace.isTrusted) return '(not shown: the workspace is not trusted; trust it to see the versions of a run)';
    if (!/^[0-9a-f]{40,64}$/.test(query.blob)) return '';
    return new Git(query.repo).run(['cat-file', 'blob', query.blob]);
  }

  /** Tells open log documents to re-read (called when a step makes progress). */
  refreshLogs(): void {
    for (const doc of vscode.workspace.textDocuments) {
      if (doc.uri.scheme === SCHEME && parseQuery(doc.uri).type === 'log') this.changed.fire(doc.uri);
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** The most of a step log shown: its last 5 MB. */
const LOG_TAIL_BYTES = 5 * 1024 * 1024;

/**
 * A step's log, read as a regular file only (never through a symlink: a cloned state folder can
 * hold `log.txt -> /etc/passwd`), its last LOG_TAIL_BYTES at most.
 */
async function readLog(file: string): Promise<string> {
  const handle = await openNoFollow(file, constants.O_RDONLY).catch(() => undefined);
  if (!handle) return '(the step has not written to its log yet)';
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return '(not shown: the log is not a regular file)';
    const start = Math.max(0, stat.size - LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(stat.size - start);
    await handle.read(buffer, 0, buffer.length, start);
    return `${start > 0 ? `(the first ${start} bytes are not shown)\n` : ''}${buffer.toString('utf8')}`;
  } finally {
    await handle.close();
  }
}
