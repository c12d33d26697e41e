/**
 * `floe deploy` with `source.consumer`: the task role gets the enhanced fan-out actions of
 * docs/iam/floe-efo-consumer-policy.json, SubscribeToShard on the stack's consumer alone; without
 * it, nothing of them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../src/pipeline/config.js';
import { synthesizeTemplate } from '../../src/deploy/template.js';
import { repoRoot } from '../helpers/shared.js';

const exampleRaw = parseYaml(readFileSync(join(repoRoot(), 'examples', 'aws-deploy.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;

function taskPolicies(consumer: string | undefined): { PolicyName: string; PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] } }[] {
  const raw = structuredClone(exampleRaw);
  if (consumer !== undefined) raw.source!.consumer = consumer;
  const template = synthesizeTemplate(validateConfig(raw), raw);
  return template.Resources.TaskRole!.Properties.Policies as ReturnType<typeof taskPolicies>;
}

test('deploy: source.consumer adds the EFO policy to the task role, SubscribeToShard on the consumer only', () => {
  assert.equal(taskPolicies(undefined).find((p) => p.PolicyName === 'floe-efo-consumer'), undefined);
  const efo = taskPolicies('orders-fanout').find((p) => p.PolicyName === 'floe-efo-consumer');
  assert.ok(efo, 'the EFO policy is attached');
  const subscribe = efo.PolicyDocument.Statement.find((s) => s.Action.includes('kinesis:SubscribeToShard'))!;
  const text = JSON.stringify(subscribe.Resource);
  assert.match(text, /stream\/[^"]+\/consumer\/orders-fanout:\*/);
  const register = efo.PolicyDocument.Statement.find((s) => s.Action.includes('kinesis:RegisterStreamConsumer'))!;
  assert.doesNotMatch(JSON.stringify(register.Resource), /consumer/);
});
