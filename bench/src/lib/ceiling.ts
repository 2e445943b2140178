import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Starts the bare-ws ceiling server in its own process. */
export async function startCeiling(): Promise<{ url: string; pid: number; publish: (body: string) => void; close: () => void }> {
  const child = fork(fileURLToPath(new URL('./ceiling-server.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  return {
    url: `ws://127.0.0.1:${port}`,
    pid: child.pid!,
    publish: (body) => child.send({ type: 'publish', body }),
    close: () => child.send({ type: 'close' }),
  };
}
