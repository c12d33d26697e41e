/**
 * Creating, updating and deleting floe's CloudFormation stack with the SDK's CloudFormation client
 * (2 MB installed; every other package it needs floe already has): the template goes in the
 * request body (at most 51,200 bytes; floe's is about a quarter of that), the stack's events are
 * reported as they come, and a failure names the resources that failed and why.
 */
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { awsCredentialProvider } from '../aws/credentials.js';
import { resolveAwsClientConfig, type AwsEnv } from '../aws/client-config.js';
import { FloeError, ValidationError } from '../errors.js';
import { sleep } from '../retry.js';

/** Largest template CloudFormation takes in the request body. */
export const TEMPLATE_BODY_LIMIT = 51_200;

/** What a deployment reports while it waits. */
export type StackProgress = (line: string) => void;

/**
 * A CloudFormation client for `region` (else AWS_REGION / AWS_DEFAULT_REGION), after checking
 * that a region and credentials exist: both fail here with a message saying what to set, before
 * any request.
 */
export async function cloudFormationClient(options: { region?: string; env: AwsEnv }): Promise<CloudFormationClient> {
  const resolved = resolveAwsClientConfig('CloudFormation', { ...(options.region ? { region: options.region } : {}), env: options.env });
  if (!resolved.region) {
    throw new ValidationError('deploy: no AWS region: set AWS_REGION (or source.region in the config) to the region of the stream');
  }
  const credentials = awsCredentialProvider(resolved.credentials, options.env);
  try {
    await credentials();
  } catch (e) {
    throw new FloeError(
      'AUTH',
      'deploy: no AWS credentials: set AWS_PROFILE (after `aws sso login` or `aws configure`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      { cause: e },
    );
  }
  return new CloudFormationClient({
    region: resolved.region,
    ...(resolved.endpoint ? { endpoint: resolved.endpoint } : {}),
    credentials,
  });
}

function isMissingStack(e: unknown): boolean {
  return (e as { name?: string })?.name === 'ValidationError' && /does not exist/.test((e as Error).message);
}

/** The stack, or undefined when it does not exist. */
export async function describeStack(client: CloudFormationClient, stack: string): Promise<Stack | undefined> {
  try {
    const r = await client.send(new DescribeStacksCommand({ StackName: stack }));
    return r.Stacks?.[0];
  } catch (e) {
    if (isMissingStack(e)) return undefined;
    throw awsFailure(e, `deploy: cannot read stack ${stack}`);
  }
}

function awsFailure(e: unknown, what: string): FloeError {
  const name = (e as { name?: string })?.name ?? 'Error';
  if (/AccessDenied|UnrecognizedClient|InvalidClientTokenId|ExpiredToken|SignatureDoesNotMatch/.test(name)) {
    return new FloeError('AUTH', `${what}: ${name}: ${(e as Error).message}`, { cause: e });
  }
  return new FloeError('DEPLOY_FAILED', `${what}: ${name}: ${(e as Error).message}`, { cause: e });
}

const IN_PROGRESS = /_IN_PROGRESS$/;

/**
 * Polls the stack until no operation is in progress, reporting each new event; returns the final
 * stack (undefined once deleted).
 */
async function waitForStack(client: CloudFormationClient, stack: string, since: Date, progress: StackProgress, pollMs: number): Promise<Stack | undefined> {
  const seen = new Set<string>();
  // Quick first looks (an update with little to do ends in seconds), then every `pollMs`.
  for (let poll = 1; ; poll++) {
    const s = await describeStack(client, stack);
    const id = s?.StackId ?? stack;
    try {
      const events = (await client.send(new DescribeStackEventsCommand({ StackName: id }))).StackEvents ?? [];
      for (const e of events.filter((x) => x.Timestamp !== undefined && x.Timestamp >= since).reverse()) {
        if (!e.EventId || seen.has(e.EventId)) continue;
        seen.add(e.EventId);
        progress(`${e.LogicalResourceId ?? '?'} ${e.ResourceStatus ?? ''}${e.ResourceStatusReason ? `: ${e.ResourceStatusReason}` : ''}`);
      }
    } catch (e) {
      if (!isMissingStack(e)) throw awsFailure(e, `deploy: cannot read the events of stack ${stack}`);
    }
    if (!s || s.StackStatus === 'DELETE_COMPLETE') return undefined;
    if (!IN_PROGRESS.test(s.StackStatus ?? '')) return s;
    await sleep(Math.min(pollMs, 500 * poll));
  }
}

/** The reasons of the resources that failed, from the stack's events since `since`. */
async function failures(client: CloudFormationClient, stack: Stack, since: Date): Promise<string> {
  const events: StackEvent[] = (await client.send(new DescribeStackEventsCommand({ StackName: stack.StackId ?? stack.StackName }))).StackEvents ?? [];
  const failed = events.filter((e) => e.Timestamp !== undefined && e.Timestamp >= since && /FAILED$/.test(e.ResourceStatus ?? '') && e.ResourceStatusReason);
  return failed.map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`).join('; ') || (stack.StackStatusReason ?? 'no reason given');
}

/** The outputs of a stack as a plain map. */
export function stackOutputs(stack: Stack): Record<string, string> {
  return Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
}

/**
 * Creates the stack, or updates it when it exists, and waits for the outcome. Resolves with the
 * stack (`unchanged` when CloudFormation had nothing to update); rejects with code
 * `DEPLOY_FAILED` naming the failed resources, or `AUTH`.
 */
export async function deployStack(
  client: CloudFormationClient,
  options: { stack: string; templateBody: string; progress: StackProgress; pollMs?: number },
): Promise<{ stack: Stack; unchanged: boolean }> {
  const { stack, templateBody, progress } = options;
  if (Buffer.byteLength(templateBody) > TEMPLATE_BODY_LIMIT) {
    throw new FloeError('DEPLOY_FAILED', `deploy: the template is ${Buffer.byteLength(templateBody)} bytes, over CloudFormation's ${TEMPLATE_BODY_LIMIT} for a request body`);
  }
  const existing = await describeStack(client, stack);
  if (existing && IN_PROGRESS.test(existing.StackStatus ?? '')) {
    throw new FloeError('DEPLOY_FAILED', `deploy: stack ${stack} is ${existing.StackStatus}: wait for it to finish, then run floe deploy again`);
  }
  if (existing?.StackStatus === 'ROLLBACK_COMPLETE') {
    throw new FloeError('DEPLOY_FAILED', `deploy: stack ${stack} failed to create (ROLLBACK_COMPLETE) and cannot be updated: run floe destroy, then floe deploy`);
  }
  const since = new Date(Date.now() - 1000);
  // CAPABILITY_IAM: the stack creates the task and execution roles (unnamed: no CAPABILITY_NAMED_IAM).
  const request = { StackName: stack, TemplateBody: templateBody, Capabilities: ['CAPABILITY_IAM' as const], Tags: [{ Key: 'floe:stack', Value: stack }] };
  try {
    if (existing) await client.send(new UpdateStackCommand(request));
    else await client.send(new CreateStackCommand({ ...request, OnFailure: 'ROLLBACK' }));
  } catch (e) {
    if (existing && /No updates are to be performed/.test((e as Error).message)) return { stack: existing, unchanged: true };
    throw awsFailure(e, `deploy: cannot ${existing ? 'update' : 'create'} stack ${stack}`);
  }
  progress(`${existing ? 'updating' : 'creating'} stack ${stack}`);
  const done = await waitForStack(client, stack, since, progress, options.pollMs ?? 5000);
  if (!done) throw new FloeError('DEPLOY_FAILED', `deploy: stack ${stack} disappeared while ${existing ? 'updating' : 'creating'}`);
  if (done.StackStatus !== 'CREATE_COMPLETE' && done.StackStatus !== 'UPDATE_COMPLETE') {
    throw new FloeError('DEPLOY_FAILED', `deploy: stack ${stack} ended ${done.StackStatus}: ${await failures(client, done, since)}`);
  }
  return { stack: done, unchanged: false };
}

/** Deletes the stack and waits; resolves false when there was none. Resources with `Retain` stay. */
export async function deleteStack(client: CloudFormationClient, options: { stack: string; progress: StackProgress; pollMs?: number }): Promise<boolean> {
  const existing = await describeStack(client, options.stack);
  if (!existing) return false;
  const since = new Date(Date.now() - 1000);
  try {
    await client.send(new DeleteStackCommand({ StackName: existing.StackId ?? options.stack }));
  } catch (e) {
    throw awsFailure(e, `destroy: cannot delete stack ${options.stack}`);
  }
  options.progress(`deleting stack ${options.stack}`);
  const left = await waitForStack(client, existing.StackId ?? options.stack, since, options.progress, options.pollMs ?? 5000);
  if (left) throw new FloeError('DEPLOY_FAILED', `destroy: stack ${options.stack} ended ${left.StackStatus}: ${await failures(client, left, since)}`);
  return true;
}
