import { readFileSync } from 'node:fs';
import { buildSchema, findBreakingChanges, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { PER_VIEWER, isPerViewerField } from './subscription-document.js';

const read = (f: string) => readFileSync(new URL(f, import.meta.url), 'utf8');

/**
 * Fields of the product contract (/work/shared/API-product.graphql, issues 12 and 13) whose
 * value depends on who reads them. Whichever of them the served schema has must carry
 * @perViewer, so the fan-out never renders them once for several people.
 */
const PER_VIEWER_FIELDS = [
  'Room.myRole',
  'Room.lastReadSeq',
  'Room.unread',
  'Room.mentions',
  'Room.readBy',
  'InboxPage.unreadTotal',
  'InboxPage.mentionsTotal',
  'ReactionSummary.reactedByMe',
];

describe('the gateway schema', () => {
  it('only extends the public contract (contract.graphql is the contract as agreed): no breaking change', () => {
    const contract = buildSchema(read('./contract.graphql'));
    const served = buildSchema(read('./schema.graphql'));
    expect(findBreakingChanges(contract, served)).toEqual([]);
  });

  it('defines @perViewer and marks every per-viewer field it serves with it', () => {
    const served = buildSchema(read('./schema.graphql'));
    expect(served.getDirective(PER_VIEWER)?.locations).toEqual(['FIELD_DEFINITION']);
    const unmarked = PER_VIEWER_FIELDS.filter((path) => {
      const [type, field] = path.split('.') as [string, string];
      const t = served.getType(type);
      const f = t && isObjectType(t) ? t.getFields()[field] : undefined;
      return f !== undefined && !isPerViewerField(f);
    });
    expect(unmarked).toEqual([]);
  });
});
