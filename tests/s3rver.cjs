// A second S3-compatible server for the tests of `carcosa-edge bucket cors`: @20minutes/s3rver
// (pinned in package.json), a maintained fork of s3rver. Unlike s3s-fs it keeps a bucket's CORS
// rules (PutBucketCors, GetBucketCors) and applies them to preflights and cross-origin requests;
// like it, it checks SigV4 signatures (s3rver 3.7.1, the last release of the original, only checks
// that the access key exists).
//
// Usage: node tests/s3rver.cjs DIR PORT ACCESS_KEY SECRET_KEY
// PORT 0 picks a free port. Prints `listening PORT` once it accepts requests, and exits when its
// standard input closes, so that it never outlives the test that started it.
'use strict';

const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');

const [directory, port, accessKey, secretKey] = process.argv.slice(2);
if (!directory || port === undefined || !accessKey || !secretKey) {
  console.error('usage: s3rver.cjs DIR PORT ACCESS_KEY SECRET_KEY');
  process.exit(2);
}

// The package's built-in key pair (S3RVER/S3RVER) is replaced by the test's.
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);

new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  // Path-style only: `http://127.0.0.1:PORT/<bucket>/<key>`.
  vhostBuckets: false,
})
  .run()
  .then(({ port: bound }) => {
    console.log(`listening ${bound}`);
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
