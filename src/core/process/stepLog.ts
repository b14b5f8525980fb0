import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Masker } from './mask';

/** A `::progress:: <percent> <message>` line, parsed. */
export interface Progress {
  readonly percent: number;
  readonly message: string;
}

const PROGRESS = /^::progress::\s+(\d+(?:\.\d+)?)%?\s*(.*)$/;

/** Parses a progress line; `undefined` for any other line. */
export function parseProgress(line: string): Progress | undefined {
  const m = PROGRESS.exec(line.trim());
  if (!m) return undefined;
  return { percent: Math.max(0, Math.min(100, Number(m[1]))), message: m[2].trim() };
}

export interface StepLogOptions {
  /** @default 10 MiB */
  readonly maxBytes?: number;
  readonly onProgress?: (progress: Progress) => void;
  /** How many trailing lines to keep in memory for error reports. @default 20 */
  readonly tailLines?: number;
  /** Values never written to the log (copied secrets'): each becomes `***`. */
  readonly secrets?: readonly string[];
}

/**
 * A step's log file: stdout and stderr as they come, capped in size with a visible marker, and
 * progress lines reported as they complete.
 */
export class StepLog {
  private readonly stream: WriteStream;
  private written = 0;
  private truncated = false;
  private partial = '';
  /** The last text scanned ended in "\r": the "\r" ended its line, and a "\n" next is part of that line end. */
  private afterCr = false;
  private readonly tail: string[] = [];
  /** Output arrives in chunks that can split a UTF-8 character; the decoder holds the split bytes. */
  private readonly decoder = new StringDecoder('utf8');
  private writeError: Error | undefined;
  private readonly masker: Masker;

  private constructor(
    readonly file: string,
    private readonly options: StepLogOptions,
  ) {
    this.masker = new Masker(options.secrets ?? []);
    this.stream = createWriteStream(file, { flags: 'a' });
    // A log that cannot be written (a full disk, a folder in the file's place) must not take the
    // engine down: the step goes on, its output is still scanned, and the failure is reported.
    this.stream.on('error', (error) => {
      this.writeError ??= error;
    });
  }

  /** Why the log file could not be written, if it could not. */
  get failure(): Error | undefined {
    return this.writeError;
  }

  static async open(file: string, options: StepLogOptions = {}): Promise<StepLog> {
    await mkdir(path.dirname(file), { recursive: true });
    return new StepLog(file, options);
  }

  /** Appends output, secrets masked; never throws. */
  write(output: Buffer): void {
    this.append(this.masker.push(output));
  }

  /** One process's output has ended: what the masking held back is written (before any note that follows). */
  endOfOutput(): void {
    this.append(this.masker.end());
  }

  private append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const max = this.options.maxBytes ?? 10 * 1024 * 1024;
    if (!this.truncated) {
      const room = max - this.written;
      if (this.writeError) {
        // Nothing more reaches the file; lines are still scanned for progress and the error report.
      } else if (chunk.length <= room) {
        this.stream.write(chunk);
        this.written += chunk.length;
      } else {
        this.stream.write(chunk.subarray(0, Math.max(0, room)));
        this.stream.write(
          `\n[tapps-flow] log truncated: it reached ${max} bytes; further output is dropped (raise the log size cap to keep more).\n`,
        );
        this.written = max;
        this.truncated = true;
      }
    }
    this.scanLines(this.decoder.write(chunk));
  }

  /** A line written by Tapps Flow itself (not by the step). */
  note(text: string): void {
    if (!this.writeError) this.stream.write(`[tapps-flow] ${text}\n`);
  }

  /** The last lines of output, for an error report. */
  lastLines(): string[] {
    return this.partial ? [...this.tail, this.partial].slice(-(this.options.tailLines ?? 20)) : [...this.tail];
  }

  async close(): Promise<void> {
    this.endOfOutput();
    const rest = this.decoder.end();
    if (rest) this.scanLines(rest);
    if (this.stream.destroyed) return;
    await new Promise<void>((resolve) => {
      this.stream.once('error', () => resolve());
      this.stream.end(resolve);
    });
  }

  private scanLines(chunk: string): void {
    // A line ends at "\n", at "\r\n" (Windows), at "\r\r\n" (a CRLF translated twice), or at a
    // bare "\r" (a progress bar drawing over its line): each run of "\r" with at most one "\n"
    // after it ends one line. A "\r" at the end of a chunk ends its line at once, so that a progress
    // line is reported when it arrives; the rest of its line end, if the next chunk starts with
    // it, is dropped, so that output reads the same however it is cut into chunks.
    let text = chunk;
    if (this.afterCr) {
      text = chunk.replace(/^\r*\n?/, '');
      if (chunk.slice(0, chunk.length - text.length).endsWith('\n')) this.afterCr = false;
    }
    if (text === '') return;
    this.afterCr = text.endsWith('\r');
    const lines = (this.partial + text).split(/\r+\n?|\n/);
    this.partial = lines.pop() ?? '';
    if (this.partial.length > 8192) this.partial = this.partial.slice(-8192);
    for (const line of lines) {
      const progress = parseProgress(line);
      if (progress) this.options.onProgress?.(progress);
      this.tail.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
      if (this.tail.length > (this.options.tailLines ?? 20)) this.tail.shift();
    }
  }
}
