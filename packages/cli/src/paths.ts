import { fileURLToPath } from 'node:url';

/** The repository root (this file is packages/cli/dist/paths.js once built). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const INFRA_SCRIPT = fileURLToPath(new URL('../../../infra/local/infra.sh', import.meta.url));
export const serviceEntry = (name: string): string =>
  fileURLToPath(new URL(`../../../services/${name}/dist/main.js`, import.meta.url));
