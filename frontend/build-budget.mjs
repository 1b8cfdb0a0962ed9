// The production build budget: the JavaScript a first visit loads (the entry script and the
// chunks index.html preloads), gzipped, must stay under 200 KB. Run after `npm run build`.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = 200 * 1024;
const dist = new URL('./dist/', import.meta.url);
const html = readFileSync(new URL('index.html', dist), 'utf8');
const files = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/?([^"]+\.js)"/g)]
  .map((m) => m[1]);
if (files.length === 0) {
  console.error('build-budget: no script in dist/index.html; run npm run build first');
  process.exit(1);
}
let total = 0;
for (const f of files) {
  const size = gzipSync(readFileSync(new URL(f, dist)), { level: 9 }).length;
  total += size;
  console.log(`${(size / 1024).toFixed(1).padStart(7)} KB  ${f}`);
}
console.log(`${(total / 1024).toFixed(1).padStart(7)} KB  initial JavaScript, gzipped (budget ${BUDGET / 1024} KB)`);
process.exit(total <= BUDGET ? 0 : 1);
