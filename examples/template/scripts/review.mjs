// A stand-in for a coding agent: reviews one service, reports progress, writes a JSON report,
// and adds a section to the changelog and a script to package.json. Usage: node review.mjs <service>
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';

const service = process.argv[2];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const files = readdirSync(`services/${service}`).filter((f) => f.endsWith('.js'));
const findings = [];
for (const [i, file] of files.entries()) {
  console.log(`::progress:: ${Math.round(((i + 0.5) / files.length) * 80)} reading services/${service}/${file}`);
  await sleep(400);
  const text = readFileSync(`services/${service}/${file}`, 'utf8');
  if (text.includes('Date.now()'))
    findings.push({
      file,
      line: text.split('\n').findIndex((l) => l.includes('Date.now()')) + 1,
      note: 'token built from the clock: predictable',
    });
  if (!text.includes('throw')) findings.push({ file, line: 1, note: 'no input validation' });
}
console.log('::progress:: 90 writing the report');
writeFileSync(`services/${service}/review-report.json`, `${JSON.stringify({ service, files: files.length, findings }, null, 2)}\n`);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
pkg.scripts[`review:${service}`] = `node scripts/review.mjs ${service}`;
writeFileSync('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(
  'CHANGELOG.md',
  `${readFileSync('CHANGELOG.md', 'utf8').trimEnd()}\n\n## Review of ${service}\n\n${findings.length === 0 ? '- No findings.' : findings.map((f) => `- ${f.file}:${f.line}: ${f.note}`).join('\n')}\n`,
);
console.log(`::progress:: 100 ${findings.length} ${findings.length === 1 ? 'finding' : 'findings'}`);
