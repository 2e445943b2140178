import type { Logger } from 'pino';
import { DependencyUnavailableError } from './startup.js';
import { stopTracing } from './tracing.js';

export interface Service {
  start(): Promise<void>;
  /** Stop accepting, drain, finish in-flight work, close clients. */
  stop(): Promise<void>;
}

/**
 * What every main.ts does after wiring: start, and on SIGTERM/SIGINT stop in order then exit.
 * A dependency that cannot be reached at start ends the process with one line and code 1.
 */
export async function runService(name: string, logger: Logger, build: () => Promise<Service>): Promise<void> {
  let service: Service | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${name} stopping`);
    // While clients close, a late reply on a closing connection must not crash the drain.
    process.on('unhandledRejection', (e) => logger.warn({ err: e }, 'rejection while stopping'));
    const hardExit = setTimeout(() => {
      logger.error(`${name} did not stop within 30 s; exiting`);
      process.exit(1);
    }, 30_000);
    hardExit.unref();
    void (service?.stop() ?? Promise.resolve()).then(
      async () => {
        logger.info(`${name} stopped`);
        await stopTracing(); // the last spans, if tracing is on
        process.exit(0);
      },
      (e: unknown) => {
        logger.error({ err: e }, `${name} failed to stop cleanly`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  try {
    service = await build();
    await service.start();
  } catch (e) {
    if (e instanceof DependencyUnavailableError) {
      process.stderr.write(`${name}: ${e.message}\n`);
    } else {
      process.stderr.write(`${name}: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
      logger.error({ err: e }, 'start failed');
    }
    process.exit(1);
  }
}
