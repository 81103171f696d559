// Prints one field of the JSON on standard input, for shell steps without jq:
//   curl … | node scripts/field.mjs response.csrf_token
// A missing field is an error (exit 1) that shows the whole answer, so a
// failed request is seen where it happened.
import process from 'node:process';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: node scripts/field.mjs a.b.c < answer.json\n');
  process.exit(2);
}
let text = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) text += chunk;
let value;
try {
  value = path.split('.').reduce((v, key) => (v === null || v === undefined ? undefined : v[key]), JSON.parse(text));
} catch {
  value = undefined;
}
if (value === undefined || value === null) {
  process.stderr.write(`no ${path} in: ${text.trim() || '(nothing)'}\n`);
  process.exit(1);
}
process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
