import { readFileSync } from 'node:fs';
import { buildSchema, findBreakingChanges } from 'graphql';
import { describe, expect, it } from 'vitest';

const read = (f: string) => readFileSync(new URL(f, import.meta.url), 'utf8');

describe('the gateway schema', () => {
  it('only extends the public contract (contract.graphql is the contract as agreed): no breaking change', () => {
    const contract = buildSchema(read('./contract.graphql'));
    const served = buildSchema(read('./schema.graphql'));
    expect(findBreakingChanges(contract, served)).toEqual([]);
  });
});
