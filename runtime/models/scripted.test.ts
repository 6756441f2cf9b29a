import { describe, expect, it } from 'vitest';
import { parseAgentFile } from '../../core/config/load.js';
import { STARTER_AGENT } from '../../core/config/starter.js';
import { scriptedAdapter, scriptRegex } from './scripted.js';
import type { ChatMessage } from './types.js';

const starter = parseAgentFile(STARTER_AGENT, 'agents/helper.yaml');
if (starter.model.provider !== 'scripted') throw new Error('starter agent should be scripted');
const model = scriptedAdapter(starter.model.script);
const ask = (messages: ChatMessage[]) => model.complete({ instructions: '', messages, tools: [] });

describe('scripted model', () => {
  it('answers a plain message with the default step, labelled [scripted]', async () => {
    const turn = await ask([{ role: 'user', content: 'hello' }]);
    expect(turn).toMatchObject({ kind: 'reply', model: 'scripted', text: '[scripted] Hello from helper! I am running on the local target.' });
  });

  it('plays matching steps in order: a tool call, then the reply after the result', async () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'What TIME is it?' }];
    const first = await ask(messages);
    expect(first.kind).toBe('tool_calls');
    if (first.kind !== 'tool_calls') return;
    expect(first.calls).toEqual([{ id: expect.any(String), tool: 'time.now', args: {} }]);
    messages.push({ role: 'assistant', content: '', toolCalls: first.calls }, { role: 'tool', callId: first.calls[0]!.id, tool: 'time.now', content: '"x"' });
    expect(await ask(messages)).toMatchObject({ kind: 'reply', text: '[scripted] I checked the clock for you.' });
    // A new user message starts the script over for that message.
    messages.push({ role: 'assistant', content: '[scripted] I checked the clock for you.' }, { role: 'user', content: 'hi again' });
    expect(await ask(messages)).toMatchObject({ kind: 'reply', text: '[scripted] Hello from helper! I am running on the local target.' });
  });

  it("understands a leading (?i) and rejects a broken regex with a stable code", () => {
    expect(scriptRegex('(?i)time').test('TIME')).toBe(true);
    expect(scriptRegex('time').test('TIME')).toBe(false);
    expect(() => scriptRegex('(')).toThrow(expect.objectContaining({ code: 'SCRIPT_INVALID' }));
  });

  it('fails clearly when nothing matches and there is no default step', async () => {
    const onlyWhen = scriptedAdapter([{ when: 'weather', reply: 'sunny' }]);
    await expect(onlyWhen.complete({ instructions: '', messages: [{ role: 'user', content: 'hello' }], tools: [] })).rejects.toMatchObject({ code: 'SCRIPT_NO_STEP' });
  });
});
