/**
 * AwsLake.query's paging, with recording stand-ins for the Athena and Glue clients (moto
 * answers GetQueryResults in one page whatever MaxResults says, so paging cannot be shown
 * there): the header row is dropped from the first page only, every NextToken is followed,
 * a NULL (a Datum without VarCharValue) stays null, and the execution parameters reach
 * StartQueryExecution in the tenant's workgroup and database.
 */
import { describe, expect, it } from 'vitest';
import type { AthenaClient } from '@aws-sdk/client-athena';
import type { GlueClient } from '@aws-sdk/client-glue';
import { AwsLake, stagingLocation, type AwsTenantLake } from './aws-lake.js';

const tenant: AwsTenantLake = { bucket: 'b', prefix: 'tenants/acme/', kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/acme', database: 'claw_acme', workgroup: 'claw-acme' };

function standins(pages: { Rows: { Data: { VarCharValue?: string }[] }[]; NextToken?: string }[]) {
  const sent: { command: string; input: Record<string, unknown> }[] = [];
  const athena = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const name = command.constructor.name;
      sent.push({ command: name, input: command.input });
      if (name === 'GetWorkGroupCommand') {
        return { WorkGroup: { Configuration: { EnforceWorkGroupConfiguration: true, ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: tenant.kmsKeyArn } } } } };
      }
      if (name === 'StartQueryExecutionCommand') return { QueryExecutionId: 'q-1' };
      if (name === 'GetQueryExecutionCommand') return { QueryExecution: { Status: { State: 'SUCCEEDED' } } };
      if (name === 'GetQueryResultsCommand') {
        const index = command.input.NextToken ? Number(command.input.NextToken) : 0;
        const page = pages[index]!;
        return { ResultSet: { ...(index === 0 ? { ResultSetMetadata: { ColumnInfo: [{ Name: 'run_id' }, { Name: 'provider' }] } } : {}), Rows: page.Rows }, NextToken: page.NextToken };
      }
      throw new Error(`unexpected ${name}`);
    },
  };
  const glue = {
    async send(command: { input: { Name?: string } }) {
      return command.input.Name === 'traces_staging' ? { Table: { StorageDescriptor: { Location: stagingLocation(tenant) }, PartitionKeys: [{ Name: 'dt' }] } } : { Table: {} };
    },
  };
  const lake = new AwsLake({ region: 'eu-west-1', tenant: () => tenant, athena: athena as unknown as AthenaClient, glue: glue as unknown as GlueClient, queryTimeoutMs: 1_000 });
  return { lake, sent };
}

const row = (...values: (string | null)[]) => ({ Data: values.map((v) => (v === null ? {} : { VarCharValue: v })) });

describe('AwsLake.query (recording stand-ins for the Athena and Glue clients)', () => {
  it('reads every page, drops only the first page\'s header row, keeps NULL apart from the empty string', async () => {
    const { lake, sent } = standins([
      { Rows: [row('run_id', 'provider'), row('run-1', 'anthropic'), row('run-2', null)], NextToken: '1' },
      { Rows: [row('run_id', ''), row('run-3', 'openai')], NextToken: '2' },
      { Rows: [row('run-4', null)] },
    ]);
    const result = await lake.query('acme', 'SELECT run_id, provider FROM traces WHERE run_id <> ?', ["'x'"]);
    expect(result.columns).toEqual(['run_id', 'provider']);
    // A later page's first row is data, even when it looks like the header.
    expect(result.rows).toEqual([['run-1', 'anthropic'], ['run-2', null], ['run_id', ''], ['run-3', 'openai'], ['run-4', null]]);
    const start = sent.find((s) => s.command === 'StartQueryExecutionCommand')!.input;
    expect(start).toEqual({ QueryString: 'SELECT run_id, provider FROM traces WHERE run_id <> ?', WorkGroup: 'claw-acme', QueryExecutionContext: { Database: 'claw_acme' }, ExecutionParameters: ["'x'"] });
    expect(sent.filter((s) => s.command === 'GetQueryResultsCommand').map((s) => s.input)).toEqual([
      { QueryExecutionId: 'q-1', MaxResults: 1000 },
      { QueryExecutionId: 'q-1', MaxResults: 1000, NextToken: '1' },
      { QueryExecutionId: 'q-1', MaxResults: 1000, NextToken: '2' },
    ]);
  });

  it('sends no ExecutionParameters when there are none (Athena refuses an empty list)', async () => {
    const { lake, sent } = standins([{ Rows: [row('run_id', 'provider')] }]);
    expect((await lake.query('acme', 'SELECT run_id, provider FROM traces')).rows).toEqual([]);
    expect(sent.find((s) => s.command === 'StartQueryExecutionCommand')!.input).not.toHaveProperty('ExecutionParameters');
  });
});
