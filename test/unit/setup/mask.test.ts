import { strict as assert } from 'node:assert';
import { Masker, secretValues } from '../../../src/core/process/mask';

/** Output pushed through a masker in the given chunk sizes, then ended. */
function masked(values: readonly string[], text: string, chunk: number): string {
  const masker = new Masker(values);
  const input = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) out.push(masker.push(input.subarray(i, i + chunk)));
  out.push(masker.end());
  return Buffer.concat(out).toString();
}

describe('setup: secrets masked in step logs', () => {
  it('masks every occurrence whatever the chunk size, a value holding another masked whole', () => {
    const text = 'a token-123456 b token-123456-long c token-123456';
    for (const size of [1, 2, 3, 7, 100])
      assert.equal(masked(['token-123456', 'token-123456-long'], text, size), 'a *** b *** c ***', `chunks of ${size}`);
  });

  it('passes output through unchanged when there is no secret, and keeps multi-byte characters whole', () => {
    assert.equal(masked([], 'plain ✓ text', 1), 'plain ✓ text');
    assert.equal(masked(['sécret-✓✓'], 'x sécret-✓✓ y ✓', 1), 'x *** y ✓');
  });

  it('reads the values of .env lines, JSON strings and plain lines, and leaves short ones alone', () => {
    assert.deepEqual(secretValues('# c\nexport API_KEY="abc123456"\nPORT=3000\nTOKEN=\'tok-98765\' # note\nEMPTY=\n'), [
      'abc123456',
      'tok-98765',
    ]);
    assert.deepEqual(secretValues('{"db": {"password": "hunter2hunter2", "port": 5432, "user": "app"}}'), ['hunter2hunter2']);
    assert.deepEqual(secretValues('-----BEGIN KEY-----\nMIIEvQIBADANBg\n'), ['-----BEGIN KEY-----', 'MIIEvQIBADANBg']);
  });
});
