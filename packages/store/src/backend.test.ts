import { describe, expect, it } from 'vitest';
import { backendFromBuildInfo, documentLocksWanted, pointLookupsForIn } from './backend.js';

describe('backend', () => {
  it('recognizes FerretDB by the ferretdbVersion of its buildInfo', () => {
    expect(backendFromBuildInfo({ version: '7.0.77', ferretdbVersion: 'v1.24.2', ok: 1 })).toBe(
      'ferretdb',
    );
    expect(backendFromBuildInfo({ version: '7.0.14', gitVersion: 'ce59cfc', ok: 1 })).toBe(
      'mongodb',
    );
  });

  it('takes document locks on FerretDB only, unless configured', () => {
    expect(documentLocksWanted('auto', 'ferretdb')).toBe(true);
    expect(documentLocksWanted('auto', 'mongodb')).toBe(false);
    expect(documentLocksWanted('on', 'mongodb')).toBe(true);
    expect(documentLocksWanted('off', 'ferretdb')).toBe(false);
  });

  it('replaces $in by point look-ups on FerretDB only', () => {
    expect(pointLookupsForIn('ferretdb')).toBe(true);
    expect(pointLookupsForIn('mongodb')).toBe(false);
  });
});
