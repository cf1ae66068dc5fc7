// A second S3 implementation for the tests: s3rver (npm), as tests/local_s3.py runs moto.
//
// `node tests/s3rver_server.js DIRECTORY` serves S3 from DIRECTORY on a free port of
// 127.0.0.1, prints `LISTENING http://127.0.0.1:PORT` once it accepts requests
// (tests/support/servers.py waits for that line) and serves until SIGTERM.  Requests
// are signed with the access key S3RVER and the secret S3RVER (s3rver's own account).
// Installed by `make s3rver` (npm ci --prefix tests/.npm).
'use strict';

const path = require('path');
const S3rver = require(path.join(__dirname, '.npm', 'node_modules', 's3rver'));

const directory = process.argv[2];
if (!directory) {
  console.error('usage: node tests/s3rver_server.js DIRECTORY');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory,
  silent: true,
  vhostBuckets: false,
});
server.run().then(
  ({ address, port }) => {
    console.log(`LISTENING http://${address}:${port}`);
  },
  (error) => {
    console.error(`s3rver could not start: ${error.message}`);
    process.exit(1);
  },
);
const stop = () => server.close().then(() => process.exit(0), () => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
