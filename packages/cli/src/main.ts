import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from '@conversa/config';
import { createUser } from './users.js';
import { INFRA_SERVICES, runInfra } from './infra.js';
import { start } from './start.js';
import { formatReconcile, reconcileNow } from './reconcile.js';
import { exportAudit, exportTarget, formatVerifyReport, parseTime, tailEvents, verifyAuditLog, withStore } from './audit.js';

function config(): Config {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`conversa: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

const program = new Command()
  .name('conversa')
  .description('Run and operate conversa, the real-time chat backend.')
  .showHelpAfterError();

program
  .command('start')
  .description('start the local infrastructure and the three services in the foreground (Ctrl-C stops)')
  .action(() => start(config()));

const infra = program.command('infra').description('local Redis, Kafka and FerretDB (no Docker needed)');
for (const verb of ['up', 'down', 'status', 'install'] as const) {
  infra
    .command(`${verb} [services...]`)
    .description(`${verb} ${INFRA_SERVICES.join(', ')} (all when none named)`)
    .action(async (services: string[]) => process.exit(await runInfra([verb, ...services])));
}
infra
  .command('wipe')
  .description('stop everything and delete the local data folder')
  .action(async () => process.exit(await runInfra(['wipe'])));

const userCreate = (role: 'ADMIN' | 'USER') => async (username: string, opts: { password: string; displayName?: string }) => {
  try {
    const id = await createUser(config(), { username, password: opts.password, displayName: opts.displayName, role });
    process.stdout.write(`created ${role === 'ADMIN' ? 'admin' : 'user'} ${username.toLowerCase()} (${id})\n`);
  } catch (e) {
    process.stderr.write(`conversa: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
};
for (const [group, role] of [
  ['admin', 'ADMIN'],
  ['user', 'USER'],
] as const) {
  program
    .command(group)
    .description(`manage ${group === 'admin' ? 'admins' : 'users'}`)
    .command('create <username>')
    .description(`create ${group === 'admin' ? 'an admin' : 'a user'} in the database`)
    .addOption(new Option('--password <password>', 'at least 8 characters').makeOptionMandatory())
    .option('--display-name <name>', 'shown next to messages (default: the username)')
    .action(userCreate(role));
}

/** Runs an audit command; an operational failure (no database, bad flag) exits 2. */
const auditAction =
  <A extends unknown[]>(run: (...args: A) => Promise<number>) =>
  async (...args: A) => {
    let code: number;
    try {
      code = await run(...args);
    } catch (e) {
      process.stderr.write(`conversa: ${e instanceof Error ? e.message : String(e)}\n`);
      code = 2;
    }
    // Client libraries may keep timers alive after closing; the command is done.
    process.exit(code);
  };

const audit = program.command('audit').description('the audit log: verify its hash chains, reconcile it with the store, follow events live, export');
audit
  .command('verify')
  .description('recompute every hash chain of the audit log; exit 1 and name the first broken link if any')
  .action(
    auditAction(async () => {
      const report = await withStore(config(), (store) => verifyAuditLog(store.audit));
      (report.ok ? process.stdout : process.stderr).write(`${formatVerifyReport(report)}\n`);
      return report.ok ? 0 : 1;
    }),
  );
audit
  .command('reconcile')
  .description('find stored messages whose events the audit log lacks and hand them back to the events topic; exit 1 if any are still missing after the wait')
  .option('--settle-seconds <n>', 'leave messages younger than this to the normal path', '5')
  .option('--wait-seconds <n>', 'how long to wait for the audit service to append what was handed back', '60')
  .action(
    auditAction(async (opts: { settleSeconds: string; waitSeconds: string }) => {
      const seconds = (flag: string, v: string) => {
        const x = Number(v);
        if (!Number.isFinite(x) || x < 0) throw new Error(`${flag}: not a number of seconds: ${JSON.stringify(v)}`);
        return x * 1_000;
      };
      const r = await reconcileNow(config(), { settleMs: seconds('--settle-seconds', opts.settleSeconds), waitMs: seconds('--wait-seconds', opts.waitSeconds) });
      const ok = r.appended === r.republished.length;
      (ok ? process.stdout : process.stderr).write(`${formatReconcile(r)}\n`);
      return ok ? 0 : 1;
    }),
  );
audit
  .command('tail')
  .description('follow domain events live from Kafka (a throwaway consumer group), one line each; Ctrl-C stops')
  .option('--room <id>', 'only the events of this room')
  .option('--from-beginning', 'start with the oldest retained event instead of new ones')
  .action(
    auditAction(async (opts: { room?: string; fromBeginning?: boolean }) => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await tailEvents(config(), opts, process.stdout, process.stderr, stop.signal);
      return 0;
    }),
  );
audit
  .command('export')
  .description('write audit entries with since <= time < until as NDJSON, oldest first')
  .option('--since <iso>', 'from this time (inclusive); default: the beginning')
  .option('--until <iso>', 'to this time (exclusive); default: now')
  .option('--room <id>', 'only the entries of this room')
  .option('--out <file>', 'write to this file instead of standard output')
  .action(
    auditAction(async (opts: { since?: string; until?: string; room?: string; out?: string }) => {
      const range = { since: parseTime('--since', opts.since), until: parseTime('--until', opts.until), room: opts.room };
      const target = exportTarget(opts.out);
      const count = await withStore(config(), (store) => exportAudit(store.audit, range, target.out));
      await target.done();
      process.stderr.write(`exported ${count} audit entries${opts.out ? ` to ${opts.out}` : ''}\n`);
      return 0;
    }),
  );

await program.parseAsync(process.argv);
