// Starts the real Agora binary on a temporary SQLite database with emails
// captured in the outbox, and reads the admin's one-time link it prints.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function startAgora({ bin = process.env.AGORA_BIN, env = {} } = {}) {
  if (!bin) throw new Error('AGORA_BIN is not set (scripts/e2e.sh builds the binary)');
  const dir = mkdtempSync(join(tmpdir(), 'agora-e2e-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = openSync(join(dir, 'agora.log'), 'a');
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGORA_')));
  const child = spawn(bin, ['serve'], {
    cwd: dir,
    env: {
      ...clean,
      AGORA_ENV: 'development',
      AGORA_ADDR: `127.0.0.1:${port}`,
      AGORA_BASE_URL: base,
      AGORA_DATABASE_URL: `sqlite://${join(dir, 'agora.db')}`,
      AGORA_DATA_DIR: join(dir, 'data'),
      AGORA_RATE_LIMIT: '0',
      AGORA_LOG_FORMAT: 'json',
      ...env,
    },
    stdio: ['ignore', 'pipe', log],
  });
  let stdout = '';
  child.stdout.on('data', (b) => { stdout += b.toString(); });
  const exited = new Promise((resolve) => child.on('exit', resolve));

  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`agora exited (${child.exitCode}); see ${dir}/agora.log`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error('agora not ready after 20 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  // The first start prints the admin's link; it may reach the pipe just
  // after /readyz answers.
  const linkRE = /https?:\/\/\S+\/login\/[A-Za-z0-9_-]{43}/;
  for (let i = 0; i < 100 && !linkRE.test(stdout); i++) await new Promise((r) => setTimeout(r, 20));
  const m = stdout.match(linkRE);
  return {
    base,
    dir,
    adminLink: m ? m[0] : null,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
