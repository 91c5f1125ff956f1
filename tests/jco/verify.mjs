// Runs the mfa-core component in Node, transpiled by jco, as any non-Rust host would: checks the RFC 6238
// Appendix B vectors through the component's exports, that a bad input comes back as a typed error, and a WebAuthn
// assertion signed here by Node's own WebCrypto (ES256) verified by the component, and refused once tampered with.
// Usage: node verify.mjs <directory holding the transpiled mfa_core.js>
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node verify.mjs <transpiled mfa-core directory>');
  process.exit(2);
}
const { otp, secrets, webauthn } = await import(pathToFileURL(path.resolve(dir, 'mfa_core.js')).href);

const seeds = {
  sha1: '12345678901234567890',
  sha256: '12345678901234567890123456789012',
  sha512: '1234567890123456789012345678901234567890123456789012345678901234',
};
const vectors = [
  [59n, '94287082', '46119246', '90693936'],
  [1111111109n, '07081804', '68084774', '25091201'],
  [1111111111n, '14050471', '67062674', '99943326'],
  [1234567890n, '89005924', '91819424', '93441116'],
  [2000000000n, '69279037', '90698825', '38618901'],
  [20000000000n, '65353130', '77737706', '47863826'],
];

let failures = 0;
let checked = 0;
for (const [time, ...codes] of vectors) {
  ['sha1', 'sha256', 'sha512'].forEach((algorithm, index) => {
    const secret = new TextEncoder().encode(seeds[algorithm]);
    const params = { algorithm, digits: 8, period: 30 };
    const code = otp.totpGenerate(secret, params, time);
    const verdict = otp.totpVerify(secret, params, codes[index], time, 1, undefined);
    checked += 1;
    if (code !== codes[index] || verdict.tag !== 'accepted' || verdict.val !== time / 30n) {
      failures += 1;
      console.error(`${algorithm} at ${time}: got ${code} ${JSON.stringify(verdict, (_, v) => typeof v === 'bigint' ? `${v}` : v)}, want ${codes[index]}`);
    }
  });
}

// Base32 from a text, as an app would scan it, feeds the same computation.
const fromBase32 = secrets.decodeBase32('gezd gnbv gy3t qojq gezd gnbv gy3t qojq');
const sixDigit = otp.totpGenerate(fromBase32, otp.defaultTotpParams(), 59n);
checked += 1;
if (sixDigit !== '287082') {
  failures += 1;
  console.error(`six-digit SHA1 code at 59 from Base32: got ${sixDigit}, want 287082`);
}

// A bad input is a typed error (a thrown ComponentError carrying the WIT variant), not a trap.
try {
  otp.totpGenerate(new Uint8Array(10), otp.defaultTotpParams(), 0n);
  failures += 1;
  console.error('an 80-bit secret was accepted');
} catch (error) {
  checked += 1;
  if (error?.payload?.tag !== 'secret-too-short' || error.payload.val !== 80) {
    failures += 1;
    console.error(`wrong error for a short secret: ${error}`);
  }
}

// WebAuthn: a P-256 key made by Node's WebCrypto, its public key as a COSE_Key (CBOR written here), an assertion
// over authenticator data and the client data's SHA-256, signed by WebCrypto (r || s, turned into DER).
const { subtle } = globalThis.crypto;
const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
const keys = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const jwk = await subtle.exportKey('jwk', keys.publicKey);
const [x, y] = [Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')];
// {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
const coseKey = Buffer.concat([Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]), x,
  Buffer.from([0x22, 0x58, 0x20]), y]);
const rpIdHash = Buffer.from(await subtle.digest('SHA-256', new TextEncoder().encode('example.com')));
const authenticatorData = Buffer.concat([rpIdHash, Buffer.from([0x05, 0, 0, 0, 5])]); // UP, UV; counter 5
const challenge = b64url(globalThis.crypto.getRandomValues(new Uint8Array(32)));
const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin: 'https://example.com' }));
const clientDataHash = Buffer.from(await subtle.digest('SHA-256', clientData));
const raw = Buffer.from(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey,
  Buffer.concat([authenticatorData, clientDataHash])));
const derInteger = (bytes) => {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i += 1;
  const trimmed = bytes.subarray(i);
  const body = trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
};
const sequence = Buffer.concat([derInteger(raw.subarray(0, 32)), derInteger(raw.subarray(32))]);
const signature = Buffer.concat([Buffer.from([0x30, sequence.length]), sequence]);
const rp = { id: 'example.com', origins: ['https://example.com'], requireUserVerification: true };
const credential = { id: new Uint8Array(16).fill(1), publicKey: coseKey, signCount: 2 };
checked += 1;
try {
  const asserted = webauthn.verifyAssertion(rp, challenge, credential, clientData, authenticatorData, signature);
  if (asserted.signCount !== 5 || asserted.counter !== 'advanced' || !asserted.userVerified) {
    failures += 1;
    console.error(`webauthn: unexpected verdict ${JSON.stringify(asserted)}`);
  }
} catch (error) {
  failures += 1;
  console.error(`webauthn: a WebCrypto assertion was refused: ${JSON.stringify(error?.payload)}`);
}
const tampered = Buffer.from(authenticatorData);
tampered[36] = 6; // another counter than the one signed
checked += 1;
try {
  webauthn.verifyAssertion(rp, challenge, credential, clientData, tampered, signature);
  failures += 1;
  console.error('webauthn: a tampered assertion was accepted');
} catch (error) {
  if (error?.payload?.tag !== 'bad-signature') {
    failures += 1;
    console.error(`webauthn: wrong error for a tampered assertion: ${JSON.stringify(error?.payload)}`);
  }
}

console.log(`jco: ${checked - failures} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
