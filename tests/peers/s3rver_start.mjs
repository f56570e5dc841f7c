#!/usr/bin/env node
// A local S3 server for the tests: npm s3rver (web/node_modules) on 127.0.0.1 with a fresh temp
// directory, one account and one or more buckets, plus a strict AWS Signature V4 check.
//
// s3rver 3.7 parses V4 Authorization headers but never verifies them (it only checks that the
// access key exists), so a wrong secret would pass. This launcher puts a verifier in front of its
// routes that recomputes the signature the way AWS does (canonical request from the request as
// received, key derivation from the secret) and answers 403 SignatureDoesNotMatch otherwise; it
// also checks a PUT body against its signed x-amz-content-sha256 and makes object replacement atomic
// (see hardenStore). The verifier proves itself on
// AWS's published example (S3 API reference, "Signature Calculations for the Authorization
// Header", GET Object example) before the server starts.
//
// Usage: node tests/peers/s3rver_start.mjs [--port N (0 = any)] [--bucket B]... [--access-key K]
//        [--secret-key S] [--region R] [--dir D] [--no-verify]
// Prints one JSON line on stdout once listening: {"port":N,"address":"127.0.0.1","buckets":[..],"dir":".."}
// and runs until SIGTERM/SIGINT or until its stdin closes (so a test that dies takes it along).
// Defaults: port 0, bucket "dragon", credentials S3RVER/S3RVER, region us-east-1.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// s3rver's ListObjectsV2 continuation tokens are DES-encrypted; OpenSSL 3 (Node 20) has DES only in
// its legacy provider, so every truncated listing would fail with 500 InternalError. The token is
// opaque to clients and s3rver both makes and reads it: map 'des' to AES-128-CBC (same 8-byte IV
// prefix in the token, key and IV doubled to AES sizes) instead of needing --openssl-legacy-provider.
{
  const nodeCrypto = createRequire(import.meta.url)('node:crypto');
  const wrap = (fn) => (alg, key, iv, ...rest) =>
    String(alg).toLowerCase() === 'des'
      ? fn('aes-128-cbc', Buffer.concat([key, key]), Buffer.concat([iv, iv]), ...rest)
      : fn(alg, key, iv, ...rest);
  nodeCrypto.createCipheriv = wrap(nodeCrypto.createCipheriv.bind(nodeCrypto));
  nodeCrypto.createDecipheriv = wrap(nodeCrypto.createDecipheriv.bind(nodeCrypto));
}

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', '..', 'web', 'package.json'));
const S3rver = require('s3rver');
const S3Error = require('s3rver/lib/models/error');

function parseArgs(argv) {
  const o = { port: 0, buckets: [], accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1', dir: '', verify: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port') o.port = Number(val());
    else if (a === '--bucket') o.buckets.push(val());
    else if (a === '--access-key') o.accessKey = val();
    else if (a === '--secret-key') o.secretKey = val();
    else if (a === '--region') o.region = val();
    else if (a === '--dir') o.dir = val();
    else if (a === '--no-verify') o.verify = false;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error('--port must be 0..65535');
  if (o.buckets.length === 0) o.buckets.push('dragon');
  return o;
}

// ---------------------------------------------------------------------------------------------
// Signature V4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)

const sha256hex = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

// RFC 3986 encoding as AWS wants it: everything but A-Z a-z 0-9 - . _ ~ is %XX (upper case).
function uriEncode(s) {
  return Array.from(Buffer.from(s, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9\-._~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
    })
    .join('');
}

// Decodes %XX (not '+': S3 paths and SigV4 queries use %20). Throws on a malformed escape.
function uriDecode(s) {
  return decodeURIComponent(s);
}

// S3 canonicalises the URI once: each segment decoded and re-encoded.
function canonicalUri(rawPath) {
  return rawPath
    .split('/')
    .map((seg) => uriEncode(uriDecode(seg)))
    .join('/');
}

function canonicalQuery(rawQuery) {
  if (!rawQuery) return '';
  const pairs = rawQuery
    .split('&')
    .filter((p) => p.length > 0)
    .map((p) => {
      const eq = p.indexOf('=');
      const k = eq < 0 ? p : p.slice(0, eq);
      const v = eq < 0 ? '' : p.slice(eq + 1);
      return [uriEncode(uriDecode(k)), uriEncode(uriDecode(v))];
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

// headers: lower-cased name -> value (as Node's IncomingMessage.headers).
function signatureFor({ method, rawPath, rawQuery, headers, signedHeaders, payloadHash, amzDate, scope, secret }) {
  const canonicalHeaders = signedHeaders
    .map((h) => {
      const v = headers[h];
      if (v === undefined) throw new S3Error('AccessDenied', `signed header ${h} is missing`);
      return `${h}:${String(v).trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalRequest = [
    method,
    canonicalUri(rawPath),
    canonicalQuery(rawQuery),
    canonicalHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope.join('/'), sha256hex(canonicalRequest)].join('\n');
  const [date, region, service] = scope;
  let key = hmac('AWS4' + secret, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  return { signature: createHmac('sha256', key).update(stringToSign).digest('hex'), canonicalRequest };
}

// AWS's published example; if this does not reproduce, the verifier itself is wrong.
function selfTest() {
  const emptyHash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  const { signature } = signatureFor({
    method: 'GET',
    rawPath: '/test.txt',
    rawQuery: '',
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': emptyHash,
      'x-amz-date': '20130524T000000Z',
    },
    signedHeaders: ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'],
    payloadHash: emptyHash,
    amzDate: '20130524T000000Z',
    scope: ['20130524', 'us-east-1', 's3', 'aws4_request'],
    secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  });
  const want = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';
  if (signature !== want) throw new Error(`SigV4 verifier self-test failed: ${signature} != ${want}`);
}

function mismatch(detail) {
  return new S3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    detail,
  );
}

function sigv4Middleware({ accessKey, secretKey, region }) {
  return async function verifySigV4(ctx, next) {
    const auth = ctx.get('authorization');
    if (!auth) return next(); // anonymous: s3rver's own rules apply
    const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) throw new S3Error('AuthorizationHeaderMalformed', 'only AWS4-HMAC-SHA256 Authorization headers are accepted here');
    const [, credential, signedHeadersText, provided] = m;
    const scope = credential.split('/');
    if (scope.length !== 5) throw new S3Error('AuthorizationHeaderMalformed', 'Credential must have 5 parts');
    const [keyId, date, credRegion, service, term] = scope;
    if (keyId !== accessKey) {
      throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    }
    if (credRegion !== region || service !== 's3' || term !== 'aws4_request') {
      throw new S3Error('AuthorizationHeaderMalformed', `the credential scope must be <date>/${region}/s3/aws4_request`);
    }
    const amzDate = ctx.get('x-amz-date');
    if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) {
      throw new S3Error('AccessDenied', 'x-amz-date is missing or does not match the credential date');
    }
    const payloadHash = ctx.get('x-amz-content-sha256');
    if (!payloadHash) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    const signedHeaders = signedHeadersText.split(';');
    const sorted = [...signedHeaders].sort();
    if (signedHeaders.join(';') !== sorted.join(';') || !signedHeaders.includes('host') ||
        !signedHeaders.includes('x-amz-date') || !signedHeaders.includes('x-amz-content-sha256')) {
      throw new S3Error('AccessDenied', 'SignedHeaders must be sorted and include host, x-amz-content-sha256 and x-amz-date');
    }
    const raw = ctx.req.url;
    const q = raw.indexOf('?');
    let computed;
    try {
      computed = signatureFor({
        method: ctx.method,
        rawPath: q < 0 ? raw : raw.slice(0, q),
        rawQuery: q < 0 ? '' : raw.slice(q + 1),
        headers: ctx.req.headers,
        signedHeaders,
        payloadHash,
        amzDate,
        scope: [date, credRegion, service, term],
        secret: secretKey,
      });
    } catch (e) {
      if (e instanceof S3Error) throw e;
      throw mismatch({ Reason: String(e.message) });
    }
    if (!timingSafeEqual(Buffer.from(computed.signature), Buffer.from(provided))) {
      throw mismatch({ CanonicalRequest: computed.canonicalRequest });
    }
    // The signature covers the payload hash: the store checks the body against it (below).
    ctx.req.dragonPayloadSha256 = payloadHash.toLowerCase();
    await next();
  };
}

// s3rver's FilesystemStore.putObject streams into the object file in place (a concurrent PUT of the
// same key interleaves, a concurrent GET sees a truncated file) and never checks the payload hash.
// Ours buffers the body, refuses it when it does not match the signed x-amz-content-sha256 (as S3
// does: XAmzContentSHA256Mismatch, nothing stored), serialises PUTs per key, and replaces the object
// file atomically (temp file + rename), as S3 replaces objects.
function hardenStore(store, dir) {
  const locks = new Map();
  let seq = 0;
  store.putObject = async function putObject(object) {
    let body = object.content;
    if (!Buffer.isBuffer(body)) {
      const chunks = [];
      for await (const c of body) chunks.push(c);
      body = Buffer.concat(chunks);
    }
    const expected = object.content && object.content.dragonPayloadSha256;
    if (expected && expected !== 'unsigned-payload' && createHash('sha256').update(body).digest('hex') !== expected) {
      const err = new S3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
      err.status = 400;
      err.expose = true;
      throw err;
    }
    const lockKey = `${object.bucket}/${object.key}`;
    const prev = locks.get(lockKey) || Promise.resolve();
    const run = prev.catch(() => {}).then(async () => {
      const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
      await mkdir(dirname(objectPath), { recursive: true });
      const tmp = join(dir, `.dragon-tmp-${process.pid}-${++seq}`);
      await writeFile(tmp, body);
      await rename(tmp, objectPath);
      const md5 = createHash('md5').update(body).digest('hex');
      await store.putMetadata(object.bucket, object.key, object.metadata, md5);
      return { size: body.length, md5 };
    });
    locks.set(lockKey, run);
    try {
      return await run;
    } finally {
      if (locks.get(lockKey) === run) locks.delete(lockKey);
    }
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  selfTest();
  const ownDir = !o.dir;
  const dir = o.dir || mkdtempSync(join(tmpdir(), 'dragon-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: o.port,
    silent: true,
    directory: dir,
    configureBuckets: o.buckets.map((name) => ({ name })),
    // s3rver (3.7) ignores V4 signatures; our middleware below checks them.
    allowMismatchedSignatures: false,
  });
  // s3rver's account registry: replace its default S3RVER/S3RVER key by ours.
  const AWSAccount = require('s3rver/lib/models/account');
  AWSAccount.registry.clear();
  const account = new AWSAccount(123456789000, 'S3rver');
  account.createKeyPair(o.accessKey, o.secretKey);
  if (o.verify) {
    // Koa composes its middleware list when the server starts listening: run ours first after
    // s3rver's logger (errors thrown here are rendered by s3rver as S3 XML error bodies).
    const mw = sigv4Middleware(o);
    server.middleware.splice(1, 0, mw);
  }
  hardenStore(server.store, dir);
  const address = await server.run();
  process.stdout.write(JSON.stringify({ port: address.port, address: '127.0.0.1', buckets: o.buckets, dir }) + '\n');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await server.close();
    } catch {}
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

main().catch((e) => {
  process.stderr.write(`s3rver_start: ${e.stack || e}\n`);
  process.exit(1);
});
