import { strict as assert } from 'node:assert';
import { queueAddress } from '../../../src/core/remote/queueUrl';
import { withoutCredentials } from '../../../src/core/remote/teamRemote';
import { TappsError } from '../../../src/core/util/errors';

describe('the queue address and the team remote as messages show them', () => {
  it('reads host, port, database, user and password; TLS for rediss; shows none of the credentials', () => {
    const a = queueAddress('rediss://ops:s3cr%40t@queue.example.com:6380/2', {});
    assert.deepEqual(
      {
        host: a.options.host,
        port: a.options.port,
        db: a.options.db,
        username: a.options.username,
        password: a.options.password,
        tls: a.options.tls,
      },
      { host: 'queue.example.com', port: 6380, db: 2, username: 'ops', password: 's3cr@t', tls: { servername: 'queue.example.com' } },
    );
    assert.equal(a.display, 'rediss://queue.example.com:6380/2');
    const b = queueAddress(undefined, { TAPPS_QUEUE_URL: 'redis://[::1]', TAPPS_QUEUE_PASSWORD: 'from-env' });
    assert.deepEqual(
      [b.options.host, b.options.port, b.options.db, b.options.password, b.options.tls],
      ['::1', 6379, 0, 'from-env', undefined],
    );
    assert.equal(b.display, 'redis://[::1]');
  });

  it('refuses what is not a Redis address, saying what was expected and never echoing a password', () => {
    const cases: Array<[string | undefined, RegExp]> = [
      [undefined, /no queue is set: give its address \(redis:\/\/host:6379\) with --queue, TAPPS_QUEUE_URL or tappsFlow\.queueUrl/],
      ['localhost:6379', /its scheme is "localhost"/],
      ['http://user:pw@host', /"http:\/\/…@host" cannot be used: its scheme is "http"/],
      ['redis://host/abc', /its database "abc" is not a number/],
      ['not a url', /it is not a URL/],
    ];
    for (const [url, message] of cases) {
      assert.throws(
        () => queueAddress(url, {}),
        (error: unknown) =>
          TappsError.is(error) && error.code === 'queue-not-set' && message.test(error.message) && !error.message.includes(':pw@'),
        String(url),
      );
    }
  });

  it("a remote URL's credentials are left out of what is shown and recorded", () => {
    assert.equal(withoutCredentials('https://x-access-token:ghp_abc@github.com/team/repo.git'), 'https://github.com/team/repo.git');
    assert.equal(withoutCredentials('git@github.com:team/repo.git'), 'git@github.com:team/repo.git');
    assert.equal(withoutCredentials('origin'), 'origin');
  });
});
