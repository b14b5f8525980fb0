// Folds the review reports into one summary. Usage: node summarize.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const services = ['auth', 'api', 'payment'];
const lines = ['# Review summary', ''];
for (const s of services) {
  const report = JSON.parse(readFileSync(`services/${s}/review-report.json`, 'utf8'));
  const count = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(`- ${s}: ${count(report.findings.length, 'finding')} in ${count(report.files, 'file')}`);
}
writeFileSync('REVIEW-SUMMARY.md', `${lines.join('\n')}\n`);
console.log('::progress:: 100 summary written');
