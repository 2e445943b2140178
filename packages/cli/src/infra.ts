import { spawn } from 'node:child_process';
import { INFRA_SCRIPT } from './paths.js';

export const INFRA_SERVICES = ['redis', 'kafka', 'postgres', 'mongo'] as const;

/** Runs infra/local/infra.sh with the given arguments, output shown; resolves with its exit code. */
export function runInfra(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [INFRA_SCRIPT, ...args], { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
