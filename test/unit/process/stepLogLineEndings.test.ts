import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseProgress, StepLog, type Progress } from '../../../src/core/process/stepLog';

/**
 * Steps on Windows print CRLF line endings, and progress bars end a line with a bare CR to draw
 * over it: progress is read from such output as from LF output, whatever the chunks, and the log
 * keeps the bytes as the step wrote them.
 */

const LF_OUTPUT = 'building\n::progress:: 10 starting\nsome output\n::progress:: 55.5% halfway there\n\n::progress:: 100 done\nlast line\n';

interface Read {
  readonly progress: Progress[];
  readonly lastLines: string[];
  readonly log: Buffer;
}

/** What a step log reads of `output` written in these chunks (cut at the given byte offsets). */
async function read(output: string | Buffer, cuts: readonly number[] = []): Promise<Read> {
  const bytes = Buffer.isBuffer(output) ? output : Buffer.from(output);
  const dir = mkdtempSync(path.join(tmpdir(), 'tapps-steplog-'));
  try {
    const file = path.join(dir, 'step.log');
    const progress: Progress[] = [];
    const log = await StepLog.open(file, { onProgress: (p) => progress.push(p) });
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      log.write(bytes.subarray(from, cut));
      from = cut;
    }
    await log.close();
    return { progress, lastLines: log.lastLines(), log: readFileSync(file) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const EXPECTED_PROGRESS: Progress[] = [
  { percent: 10, message: 'starting' },
  { percent: 55.5, message: 'halfway there' },
  { percent: 100, message: 'done' },
];

describe('step log: CRLF and CR line endings', () => {
  it('LF output: the progress and last lines this suite compares with', async () => {
    const lf = await read(LF_OUTPUT);
    assert.deepEqual(lf.progress, EXPECTED_PROGRESS);
    assert.deepEqual(lf.lastLines, LF_OUTPUT.split('\n').slice(0, -1));
  });

  it('CRLF output gives the same progress and lines as LF; the log keeps the CRLF bytes', async () => {
    const lf = await read(LF_OUTPUT);
    const output = LF_OUTPUT.replace(/\n/g, '\r\n');
    const crlf = await read(output);
    assert.deepEqual(crlf.progress, lf.progress);
    assert.deepEqual(crlf.lastLines, lf.lastLines);
    assert.deepEqual(crlf.log, Buffer.from(output), 'the log holds the output as the step wrote it');
  });

  it('CRLF output cut between "\\r" and "\\n" of every line gives the same progress and lines', async () => {
    const lf = await read(LF_OUTPUT);
    const output = LF_OUTPUT.replace(/\n/g, '\r\n');
    const cuts = [...output.matchAll(/\r/g)].map((m) => m.index + 1);
    const split = await read(output, cuts);
    assert.deepEqual(split.progress, lf.progress);
    assert.deepEqual(split.lastLines, lf.lastLines);
    assert.deepEqual(split.log, Buffer.from(output));
  });

  it('CRLF output written one byte at a time gives the same progress and lines', async () => {
    const lf = await read(LF_OUTPUT);
    const output = LF_OUTPUT.replace(/\n/g, '\r\n');
    const cuts = Array.from({ length: output.length - 1 }, (_, i) => i + 1);
    const bytewise = await read(output, cuts);
    assert.deepEqual(bytewise.progress, lf.progress);
    assert.deepEqual(bytewise.lastLines, lf.lastLines);
    assert.deepEqual(bytewise.log, Buffer.from(output));
  });

  it('a progress line ended by a bare "\\r" (a line drawn over) is read, at once', async () => {
    const output = '::progress:: 10 starting\r::progress:: 55.5 halfway there\r::progress:: 100 done\r\nlast line\n';
    const whole = await read(output);
    assert.deepEqual(whole.progress, EXPECTED_PROGRESS);
    assert.deepEqual(whole.lastLines, [
      '::progress:: 10 starting',
      '::progress:: 55.5 halfway there',
      '::progress:: 100 done',
      'last line',
    ]);
    assert.deepEqual(whole.log, Buffer.from(output), 'the log keeps the bare "\\r" as it was');

    // Each progress line in a chunk of its own, ending in its "\r": reported when its chunk arrives,
    // not when the next output does.
    const dir = mkdtempSync(path.join(tmpdir(), 'tapps-steplog-'));
    try {
      const seen: Progress[] = [];
      const log = await StepLog.open(path.join(dir, 'step.log'), { onProgress: (p) => seen.push(p) });
      log.write(Buffer.from('::progress:: 10 starting\r'));
      assert.deepEqual(seen, [{ percent: 10, message: 'starting' }]);
      log.write(Buffer.from('::progress:: 55.5 halfway there\r'));
      assert.equal(seen.length, 2);
      log.write(Buffer.from('\n::progress:: 100 done\r'));
      assert.deepEqual(seen, EXPECTED_PROGRESS);
      await log.close();
      assert.deepEqual(log.lastLines(), ['::progress:: 10 starting', '::progress:: 55.5 halfway there', '::progress:: 100 done']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('"\\r\\r\\n" (CRLF written through a second CRLF translation) ends one line, however it is cut', async () => {
    const lf = await read(LF_OUTPUT);
    const output = LF_OUTPUT.replace(/\n/g, '\r\r\n');
    for (const cuts of [
      [],
      [...output.matchAll(/\r/g)].map((m) => m.index + 1),
      Array.from({ length: output.length - 1 }, (_, i) => i + 1),
    ]) {
      const r = await read(output, cuts);
      assert.deepEqual(r.progress, lf.progress, `cut at ${cuts.length} places`);
      assert.deepEqual(r.lastLines, lf.lastLines, `cut at ${cuts.length} places`);
      assert.deepEqual(r.log, Buffer.from(output));
    }
  });

  it('a UTF-8 character and a CRLF split in the same cut read whole', async () => {
    const output = Buffer.from('::progress:: 40 café ☕\r\nnext\r\n');
    const cut = output.indexOf(Buffer.from('☕')) + 1;
    const r = await read(output, [cut, output.indexOf('\r'.charCodeAt(0)) + 1]);
    assert.deepEqual(r.progress, [{ percent: 40, message: 'café ☕' }]);
    assert.deepEqual(r.lastLines, ['::progress:: 40 café ☕', 'next']);
    assert.deepEqual(r.log, output);
  });

  it('parseProgress reads a line with its "\\r" as without it', () => {
    assert.deepEqual(parseProgress('::progress:: 40 halfway\r'), parseProgress('::progress:: 40 halfway'));
    assert.deepEqual(parseProgress('::progress:: 40 halfway\r'), { percent: 40, message: 'halfway' });
  });
});
