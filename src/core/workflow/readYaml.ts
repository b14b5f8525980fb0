import { Composer, isAlias, Lexer, LineCounter, Parser, visit, type Alias, type CST, type Document, type YAMLError } from 'yaml';
import type { WorkflowIssue } from '../util/errors';
import { quoted } from './describeIssue';
import { issuesOf, workflowError, type IssueAt } from './issues';
import { MAX_ALIAS_COUNT, MAX_REPORTED_ISSUES, MAX_WORKFLOW_BYTES, MAX_YAML_NESTING } from './limits';
import { structureProblems } from './yamlStructure';
import { YamlPositions } from './yamlPositions';

/** A workflow file's YAML as data, with the positions of its nodes for messages. */
export interface ReadYaml {
  readonly data: unknown;
  readonly positions: YamlPositions;
}

/** The issue of a file over `MAX_WORKFLOW_BYTES`, at 1:1 (nothing of it is parsed). */
export function sizeIssue(file: string, bytes: number | undefined): WorkflowIssue {
  const size = bytes === undefined ? `more than ${MAX_WORKFLOW_BYTES}` : String(bytes);
  return issuesOf(file)({ line: 1, column: 1 }, `the workflow file is ${size} bytes; at most ${MAX_WORKFLOW_BYTES} are allowed`);
}

/**
 * Reads workflow YAML into data, or throws `WorkflowError` with every problem positioned: a file
 * over the size limit, nesting past `MAX_YAML_NESTING`, syntax errors, duplicate or unusable keys,
 * aliases without an anchor, alias bombs, and anything the parser throws instead of reporting.
 */
export function readYaml(fileText: string, file: string): ReadYaml {
  // A byte order mark (which Windows editors write first) is not part of the text: the YAML
  // library skips it, but counts it in the offsets, so every position on the first line would be
  // one column to the right of where an editor shows it. (CRLF needs nothing: the library reads
  // "\r\n" as a line break, in block scalars too, and the positions count lines by "\n".)
  const text = fileText.startsWith('\uFEFF') ? fileText.slice(1) : fileText;
  const issue = issuesOf(file);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_WORKFLOW_BYTES) throw workflowError([sizeIssue(file, bytes)]);
  const lines = new LineCounter();
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  let composed: Composed;
  try {
    composed = compose(text, lines);
  } catch (error) {
    if (error instanceof TooDeep) {
      throw workflowError([
        issue(
          at(error.offset),
          `lists and mappings are nested more than ${MAX_YAML_NESTING} levels deep here; expected a workflow file, which needs about 8`,
        ),
      ]);
    }
    throw workflowError([unreadable(issue, error)]);
  }
  const { doc, secondDocument } = composed;
  const positions = new YamlPositions(doc, lines);
  const syntax = syntaxIssues(doc.errors, text, at, issue);
  if (secondDocument !== undefined) {
    syntax.issues.push(issue(at(secondDocument), 'a second YAML document starts here; expected one document, the workflow'));
    syntax.total++;
  }
  if (syntax.total > 0) throw workflowError(syntax.issues, syntax.total);

  const where = (offset: number) => {
    const p = at(offset);
    return `line ${p.line}, column ${p.column}`;
  };
  const problems = structureProblems(doc, where);
  if (problems.length > 0) throw workflowError(problems.map((p) => issue(at(p.offset), p.message)));
  return { data: toData(doc, at, issue), positions };
}

interface Composed {
  readonly doc: Document.Parsed;
  /** Where a second document starts, if the text holds more than one. */
  readonly secondDocument?: number;
}

/** Thrown to stop parsing at the first collection nested too deep. */
class TooDeep extends Error {
  constructor(readonly offset: number) {
    super('nested too deep');
  }
}

const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

/**
 * `parseDocument`, with the lexer driven here (the parser's documented way to take tokens one at
 * a time) so that nesting is checked as it grows: the parser's cost per level is high, and the
 * check stops a MiB of `[` after 65 tokens instead of after 5 s. Keys are not checked for
 * uniqueness here: `structureProblems` does it in linear time.
 */
function compose(text: string, lines: LineCounter): Composed {
  const parser = new Parser(lines.addNewLine);
  const composer = new Composer({ uniqueKeys: false, logLevel: 'error' });
  function* tokens(): Generator<CST.Token> {
    lines.addNewLine(0);
    for (const lexeme of new Lexer().lex(text)) {
      yield* parser.next(lexeme);
      const stack = parser.stack;
      // The stack also holds the document and items being built: count collections only, and only when it could be too deep.
      if (stack.length > MAX_YAML_NESTING && stack.filter((t) => COLLECTIONS.has(t.type)).length > MAX_YAML_NESTING) {
        throw new TooDeep(stack[stack.length - 1].offset);
      }
    }
    yield* parser.end();
  }
  let doc: Document.Parsed | undefined;
  // The parser makes an Error object per problem, and capturing its stack is most of the time on
  // broken text (a MiB of `,` is a million errors: 9 s with stacks, 3.5 s without). Nothing reads
  // those stacks, and nothing else runs while this synchronous loop does.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (const next of composer.compose(tokens(), true, text.length)) {
      if (doc) return { doc, secondDocument: next.range[0] };
      doc = next;
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  // compose(…, forceDoc = true) always yields a document, an empty one for an empty text.
  return { doc: doc! };
}

/**
 * The first syntax errors as issues, and how many there are: a MiB of `,` is a million errors,
 * and only the first ones are shown.
 */
function syntaxIssues(
  errors: readonly YAMLError[],
  text: string,
  at: (offset: number) => { line: number; column: number },
  issue: IssueAt,
): { issues: WorkflowIssue[]; total: number } {
  const first = [...errors].sort((a, b) => a.pos[0] - b.pos[0]).slice(0, MAX_REPORTED_ISSUES + 1);
  return {
    issues: first.map((e) => {
      const message = e.message.split('\n')[0];
      const hint = colonHint(e, text);
      return issue(at(e.pos[0]), `invalid YAML: ${hint ? `${message.replace(/:$/, '')}; ${hint}` : message}`);
    }),
    total: errors.length,
  };
}

/**
 * The classic trap: a plain (unquoted) value holding ": ", like `run: echo "::progress:: 10 x"`
 * or `prompt: Fix this: now`. YAML reads the ": " as the start of a mapping inside the value;
 * the parser says "Nested mappings are not allowed in compact mappings" (or, inside `{…}`, "Block
 * collections are not allowed within flow collections"), which does not say what to do.
 */
function colonHint(error: YAMLError, text: string): string | undefined {
  const [start, end] = error.pos;
  if (error.code === 'BLOCK_AS_IMPLICIT_KEY') {
    // The key before the value, looked for in the last 200 characters only: the line can be a MiB long.
    const lineStart = Math.max(text.lastIndexOf('\n', start - 1) + 1, start - 200);
    const key = /([^\s:{},[\]#][^:#]*?)\s*:\s*$/.exec(text.slice(lineStart, start).replace(/^\s*(?:-\s+)*/, ''))?.[1];
    const value = key ? `the value of ${quoted(key)}` : 'this value';
    const example = key && /^[\w.-]+$/.test(key) ? key : 'key';
    return `${value} holds ": ", which YAML reads as the start of another key; put the value in quotes, or write it as a block scalar ("${example}: |" with the text on the lines below, indented)`;
  }
  if (error.code === 'BLOCK_IN_FLOW' && text.slice(start, Math.max(end, start + 1)).includes(': ')) {
    return 'a value holds ": ", which YAML reads as the start of another key; put the value in quotes';
  }
  return undefined;
}

/**
 * The document as plain data. Aliases expand through the library's own guard (`maxAliasCount`);
 * when it stops an alias bomb, the issue is placed at the alias it stopped at, which each alias
 * records as it fails (the library's error does not say which one it was).
 */
function toData(doc: Document.Parsed, at: (offset: number) => { line: number; column: number }, issue: IssueAt): unknown {
  let failed: Alias | undefined;
  visit(doc, (_key, node) => {
    if (!isAlias(node)) return;
    const resolve = node.toJSON.bind(node);
    node.toJSON = (arg, ctx) => {
      try {
        return resolve(arg, ctx);
      } catch (error) {
        failed ??= node;
        throw error;
      }
    };
  });
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (!failed?.range) throw workflowError([unreadable(issue, error)]);
    const alias = quoted(`*${failed.source}`);
    const message = /excessive alias count/i.test(String(error))
      ? `alias ${alias} repeats anchored content more than ${MAX_ALIAS_COUNT} times, counting aliases inside aliases; expected each anchor to be repeated a few times, not aliases of aliases that multiply (a "billion laughs" file)`
      : `alias ${alias} cannot be expanded (${errorText(error)}); expected an alias of an anchor defined earlier in the file`;
    throw workflowError([issue(at(failed.range[0]), message)]);
  }
}

/** Anything the parser threw instead of reporting it: a bug of the parser, still the file's problem to the user. */
function unreadable(issue: IssueAt, error: unknown): WorkflowIssue {
  return issue({ line: 1, column: 1 }, `the file cannot be read as YAML (${errorText(error)}); expected a YAML workflow file`);
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}
