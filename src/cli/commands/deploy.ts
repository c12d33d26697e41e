/**
 * `floe deploy --config aws.yaml` and `floe destroy --config aws.yaml [--purge]`: the pipeline
 * of a `floe run` config stood up on AWS as one CloudFormation stack (`deploy/template.ts`), and
 * taken down again. Without AWS (`--dry-run`) deploy writes the template and prints the AWS CLI
 * command that deploys it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../../errors.js';
import { validateConfig, type PipelineConfig } from '../../pipeline/config.js';
import { glueClientFromEnv } from '../../catalog/glue/client.js';
import { s3ClientFromEnv } from '../../io/s3-client.js';
import { cloudFormationClient, deleteStack, deployStack, stackOutputs } from '../../deploy/cloudformation.js';
import { purgeKept } from '../../deploy/purge.js';
import { stackPlan, synthesizeTemplate, type StackPlan } from '../../deploy/template.js';
import { parse, str, UsageError } from '../args.js';
import type { CommandSpec } from '../help.js';
import type { CommandIO } from '../io.js';

/** `floe deploy`. */
export const DEPLOY_SPEC: CommandSpec = {
  name: 'deploy',
  args: '--config FILE',
  summary:
    'Creates or updates the CloudFormation stack that runs the config on AWS: stream, warehouse bucket, Glue database, ' +
    'lease table, ECS Fargate service (ARM) running floe run, task role, logs, Athena workgroup, scaling. Prints the outputs.',
  flags: {
    config: { type: 'string', short: 'c', value: 'FILE', help: 'a floe run config with a deploy section (deploy.image at least); required' },
    'template-file': { type: 'string', value: 'FILE', help: 'also write the template there (JSON)' },
    'dry-run': { type: 'boolean', help: 'contact nothing: write the template (--template-file, default <stack>.template.json) and print the aws cloudformation deploy command' },
  },
  notes: `The deploy section and what the stack holds: deploy/README.md. Credentials and region: the AWS SDK's
(AWS_PROFILE, AWS_REGION, ...); source.region wins over AWS_REGION.`,
};

/** `floe destroy`. */
export const DESTROY_SPEC: CommandSpec = {
  name: 'destroy',
  args: '--config FILE',
  summary:
    'Deletes the stack of floe deploy. The warehouse bucket (table data, Athena results) and the Glue database and tables stay, unless --purge.',
  flags: {
    config: { type: 'string', short: 'c', value: 'FILE', help: 'the config floe deploy was given; required' },
    purge: { type: 'boolean', help: 'also delete the Glue database with its tables and the table data (the bucket, when the stack created it)' },
  },
};

/** Reads the config: the document as written (for the tasks) and validated. Bad configs are usage errors. */
async function readDeployConfig(path: string | undefined, command: string): Promise<{ raw: Record<string, unknown>; config: PipelineConfig }> {
  if (!path) throw new UsageError(`cli: ${command} needs --config <file>`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`config: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const raw = parseYaml(text) as unknown;
    const config = validateConfig(raw);
    if (!config.deploy) throw new ValidationError(`config: deploy: ${path} has no deploy section (at least deploy.image: the image built from floe's Dockerfile)`);
    return { raw: raw as Record<string, unknown>, config };
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(e.message, { cause: e });
    throw new UsageError(`config: ${path}: not valid YAML/JSON: ${(e as Error).message}`, { cause: e });
  }
}

function plan(config: PipelineConfig): StackPlan {
  try {
    return stackPlan(config);
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
}

/** Runs `floe deploy`. */
export async function deployCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(DEPLOY_SPEC, argv);
  const { raw, config } = await readDeployConfig(str(values, 'config') ?? positionals[0], 'deploy');
  const p = plan(config);
  const template = synthesizeTemplate(config, raw);
  const dryRun = values['dry-run'] === true;
  const file = str(values, 'template-file') ?? (dryRun ? `${p.stack}.template.json` : undefined);
  if (file) {
    await writeFile(file, JSON.stringify(template, null, 2) + '\n');
    io.stderr(`deploy: template written to ${file} (${Object.keys(template.Resources).length} resources)\n`);
  }
  if (dryRun) {
    io.stdout(
      `aws cloudformation deploy --stack-name ${p.stack} --template-file ${file} --capabilities CAPABILITY_IAM` +
        `${p.region ? ` --region ${p.region}` : ''} --tags floe:stack=${p.stack}\n`,
    );
    return 0;
  }
  const client = await cloudFormationClient({ ...(p.region ? { region: p.region } : {}), env: io.env });
  try {
    const { stack, unchanged } = await deployStack(client, {
      stack: p.stack,
      templateBody: JSON.stringify(template),
      progress: (line) => io.stderr(`deploy: ${line}\n`),
    });
    io.stderr(unchanged ? `deploy: stack ${p.stack} is up to date\n` : `deploy: stack ${p.stack} ${stack.StackStatus}\n`);
    for (const [k, v] of Object.entries(stackOutputs(stack))) io.stdout(`${k}: ${v}\n`);
    return 0;
  } finally {
    client.destroy();
  }
}

/** Runs `floe destroy`. */
export async function destroyCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(DESTROY_SPEC, argv);
  const { config } = await readDeployConfig(str(values, 'config') ?? positionals[0], 'destroy');
  const p = plan(config);
  const purge = values.purge === true;
  const client = await cloudFormationClient({ ...(p.region ? { region: p.region } : {}), env: io.env });
  try {
    const deleted = await deleteStack(client, { stack: p.stack, progress: (line) => io.stderr(`destroy: ${line}\n`) });
    io.stderr(deleted ? `destroy: stack ${p.stack} deleted\n` : `destroy: no stack ${p.stack}\n`);
    if (purge) {
      // The same conventions as every floe client (AWS_ENDPOINT_URL_S3 / _GLUE, the default chain).
      const region = await client.config.region();
      const s3 = s3ClientFromEnv({ region, env: io.env });
      const glue = glueClientFromEnv({ region, env: io.env });
      try {
        await purgeKept(p, { s3, glue }, (line) => io.stderr(`destroy: ${line}\n`));
      } finally {
        s3.destroy();
        glue.destroy();
      }
    } else {
      io.stdout(
        `kept: s3://${p.bucket} (the table data and Athena results; S3 Standard storage is billed per GB-month)\n` +
          `kept: Glue database ${p.database} and its tables (no charge below a million catalog objects)\n` +
          `floe destroy --purge deletes them\n`,
      );
    }
    return 0;
  } finally {
    client.destroy();
  }
}
