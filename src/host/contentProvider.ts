import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { Git } from '../core/git/git';

/** The scheme of the read-only documents of Tapps Flow: blobs of a run, and step logs. */
export const SCHEME = 'tapps-flow';

/** The parameters of a document, carried in its URI's query. */
export type ContentQuery =
  | { readonly type: 'blob'; readonly repo: string; readonly blob: string | null; readonly label: string }
  | { readonly type: 'log'; readonly file: string };

/** A URI whose path names the file (for the editor's language and title) and whose query holds the rest. */
export function contentUri(displayPath: string, query: ContentQuery): vscode.Uri {
  return vscode.Uri.from({ scheme: SCHEME, path: `/${displayPath.replace(/^\/+/, '')}`, query: JSON.stringify(query) });
}

export function parseQuery(uri: vscode.Uri): ContentQuery {
  return JSON.parse(uri.query) as ContentQuery;
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
    if (query.type === 'log') return readFile(query.file, 'utf8').catch(() => '(the step has not written to its log yet)');
    if (query.blob === null) return '';
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
