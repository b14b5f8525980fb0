// Folds the review reports into one summary. Usage: node summarize.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const services = ['auth', 'api', 'payment'];
const lines = ['# Review summary', ''];
for (const s of services) {
  const report = JSON.parse(readFileSync(`services/${s}/review-report.json`, 'utf8'));
  lines.push(`- ${s}: ${report.findings.length} finding(s) in ${report.files} file(s)`);
}
writeFileSync('REVIEW-SUMMARY.md', `${lines.join('\n')}\n`);
console.log('::progress:: 100 summary written');
