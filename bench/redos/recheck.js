// Labels each pattern of a JSON list (stdin) with recheck 4.5's verdict.
// Output (stdout): a JSON list of {status, complexity, degree, attack}.
const { checkSync } = require(process.env.RECHECK || '../peers/node_modules/recheck');
const patterns = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = patterns.map((p) => {
  try {
    const d = checkSync(p, '', { timeout: 10000 });
    return { status: d.status, complexity: d.complexity ? d.complexity.type : null,
             degree: d.complexity && d.complexity.degree !== undefined ? d.complexity.degree : null,
             attack: d.attack ? d.attack.pattern : null };
  } catch (e) {
    return { status: 'error', complexity: null, degree: null, attack: String(e) };
  }
});
process.stdout.write(JSON.stringify(out));
