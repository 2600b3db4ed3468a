// Checks that the test run left the machine's own network namespace as it found it: the same
// named namespaces, the same links and the same nf_tables tables. A test that leaks fails the whole run here.
// NLNET_LEAK_CHECK=0 turns the check off, for developers running several test processes at
// once (each would see the others' namespaces come and go).
import { execFileSync } from 'node:child_process';

function snapshot(): string {
  if (process.getuid?.() !== 0 || process.env.NLNET_LEAK_CHECK === '0') return '';
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0])
    .filter(Boolean)
    .sort();
  const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter(Boolean).sort();
  let tables = '';
  try {
    tables = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).trim();
  } catch {
    // nft not installed: nothing to compare.
  }
  return JSON.stringify({ links, ns, tables });
}

export default function setup(): () => void {
  const before = snapshot();
  return () => {
    const after = snapshot();
    if (after !== before) throw new Error(`tests changed the machine's own network namespace:\n before ${before}\n after  ${after}`);
  };
}
