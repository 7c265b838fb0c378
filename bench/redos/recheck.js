// Labels each pattern of a JSON list (stdin) with recheck 4.5's verdict.
// Output (stdout): a JSON list of {status, complexity, degree, attack}.
const { checkSync } = require(process.env.RECHECK || '../peers/node_modules/recheck');
const patterns = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = patterns.map((p) => {
  try {
    // RE2 syntax as JavaScript writes it: (?P<n> is (?<n>, \x{HH} is \xHH
    // (\uHHHH past FF), \A and \z are ^ and $.
    p = p.replace(/\(\?P</g, '(?<')
      .replace(/\\x\{([0-9a-fA-F]{1,4})\}/g, (_, h) => (h.length <= 2 ? '\\x' + h.padStart(2, '0') : '\\u' + h.padStart(4, '0')))
      .replace(/\\A/g, '^').replace(/\\z/g, '$');
    // RE2's leading inline flags, (?i) or (?is), are JavaScript's flags.
    const lead = /^\(\?([ims]+)\)/.exec(p);
    const d = lead ? checkSync(p.slice(lead[0].length), lead[1], { timeout: 10000 }) : checkSync(p, '', { timeout: 10000 });
    return { status: d.status, complexity: d.complexity ? d.complexity.type : null,
             degree: d.complexity && d.complexity.degree !== undefined ? d.complexity.degree : null,
             attack: d.attack ? d.attack.pattern : null };
  } catch (e) {
    return { status: 'error', complexity: null, degree: null, attack: String(e) };
  }
});
process.stdout.write(JSON.stringify(out));
