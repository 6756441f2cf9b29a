/**
 * Edits to claw.yaml made by the CLI (tenants add/remove, upgrade/rollback versions).
 * They go through the `yaml` Document API so the customer's comments, key order and
 * formatting survive; the result is re-validated before it is written.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isMap, isSeq, parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { parseConfig } from '../../core/config/load.js';
import type { ClawConfig, ClawConfigInput } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';

type TenantInput = NonNullable<ClawConfigInput['tenants']>[number];
type VersionsInput = NonNullable<ClawConfigInput['versions']>;

function load(file: string): Document {
  return parseDocument(readFileSync(file, 'utf8'));
}

/** Validate the edited document as claw.yaml, then write it atomically. */
function save(file: string, doc: Document): ClawConfig {
  const text = doc.toString();
  const config = parseConfig(text, file);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return config;
}

export function addTenant(file: string, tenant: TenantInput): ClawConfig {
  const doc = load(file);
  const tenants = doc.get('tenants');
  if (isSeq(tenants)) {
    if (tenants.items.some((t) => isMap(t) && t.get('id') === tenant.id)) {
      throw new ClawError('TENANT_EXISTS', `tenant '${tenant.id}' is already in ${file}`, { hint: "pick another id, or 'claw tenants list' to see them" });
    }
    tenants.add(doc.createNode(tenant));
  } else {
    doc.set('tenants', doc.createNode([tenant]));
  }
  return save(file, doc);
}

export function unknownTenant(id: string, file: string): ClawError {
  return new ClawError('UNKNOWN_TENANT', `tenant '${id}' is not in ${file}`, { hint: "'claw tenants list' shows the tenants" });
}

/** The `tenants:` sequence and the index of tenant `id` in it (UNKNOWN_TENANT if absent). */
function findTenant(doc: Document, file: string, id: string): { tenants: YAMLSeq; index: number } {
  const tenants = doc.get('tenants');
  const index = isSeq(tenants) ? tenants.items.findIndex((t) => isMap(t) && t.get('id') === id) : -1;
  if (!isSeq(tenants) || index < 0) throw unknownTenant(id, file);
  return { tenants, index };
}

export function removeTenant(file: string, id: string): ClawConfig {
  const doc = load(file);
  const { tenants, index } = findTenant(doc, file, id);
  const agents = doc.get('agents');
  if (isSeq(agents) && agents.items.some((a) => isMap(a) && a.get('tenant') === id)) {
    throw new ClawError('TENANT_HAS_AGENTS', `tenant '${id}' still has agents in ${file}`, { hint: `remove the agents with 'tenant: ${id}' first` });
  }
  tenants.delete(index);
  return save(file, doc);
}

/** Set a tenant's `onRemove` (what removing it from the stack does to its key). */
export function setTenantOnRemove(file: string, id: string, onRemove: 'retain' | 'shred'): ClawConfig {
  const doc = load(file);
  const { tenants, index } = findTenant(doc, file, id);
  const tenant = tenants.items[index] as YAMLMap;
  if (onRemove === 'retain') tenant.delete('onRemove');
  else tenant.set('onRemove', onRemove);
  return save(file, doc);
}

/** Set `versions:` (only the given keys), keeping everything else in the file as it was. */
export function setVersions(file: string, versions: Partial<VersionsInput>): ClawConfig {
  const doc = load(file);
  for (const [key, value] of Object.entries(versions)) {
    if (value !== undefined) doc.setIn(['versions', key], value);
  }
  return save(file, doc);
}
