// Runs the mfa-core component in Node, transpiled by jco, as any non-Rust host would: checks the RFC 6238
// Appendix B vectors through the component's exports and that a bad input comes back as a typed error.
// Usage: node verify.mjs <directory holding the transpiled mfa_core.js>
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node verify.mjs <transpiled mfa-core directory>');
  process.exit(2);
}
const { otp, secrets } = await import(pathToFileURL(path.resolve(dir, 'mfa_core.js')).href);

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

console.log(`jco: ${checked - failures} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
