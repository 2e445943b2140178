import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from '@conversa/config';
import { createUser } from './users.js';
import { INFRA_SERVICES, runInfra } from './infra.js';
import { start } from './start.js';

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

await program.parseAsync(process.argv);
