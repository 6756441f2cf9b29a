/**
 * The scripted model: plays the replies and tool calls written in the agent file, for
 * offline demos and tests. Everything it says is labelled [scripted].
 *
 * Which step plays: the steps whose `when` (a regex; a leading `(?i)` means
 * case-insensitive) matches the latest user message, else the steps without `when`;
 * among those, the k-th, where k counts the model's turns since that user message
 * (the last step repeats once the script runs out).
 */
import type { ScriptStep } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import { SCRIPTED_LABEL, type ChatMessage, type ModelAdapter, type ModelTurn } from './types.js';

export function scriptRegex(pattern: string): RegExp {
  const insensitive = pattern.startsWith('(?i)');
  const source = insensitive ? pattern.slice(4) : pattern;
  try {
    return new RegExp(source, insensitive ? 'i' : '');
  } catch {
    throw new ClawError('SCRIPT_INVALID', `scripted model: 'when' is not a valid regular expression: ${pattern}`, {
      hint: "fix the step's 'when' in the agent file",
    });
  }
}

export function labelScripted(text: string): string {
  return `${SCRIPTED_LABEL} ${text}`;
}

export function scriptedAdapter(script: ScriptStep[]): ModelAdapter {
  const compiled = script.map((step) => ({ step, when: step.when === undefined ? undefined : scriptRegex(step.when) }));
  return {
    provider: 'scripted',
    async complete({ messages }): Promise<ModelTurn> {
      const lastUser = findLastIndex(messages, (m) => m.role === 'user');
      const ask = lastUser >= 0 ? (messages[lastUser] as Extract<ChatMessage, { role: 'user' }>).content : '';
      const turn = messages.slice(lastUser + 1).filter((m) => m.role === 'assistant').length;
      const matching = compiled.filter((c) => c.when?.test(ask));
      const candidates = matching.length > 0 ? matching : compiled.filter((c) => c.when === undefined);
      const chosen = candidates[Math.min(turn, candidates.length - 1)]?.step;
      if (!chosen) {
        throw new ClawError('SCRIPT_NO_STEP', 'scripted model: no step matches this message and no step without \'when\' exists', {
          hint: "add a step without 'when' to the agent's script as the default reply",
        });
      }
      const usage = chosen.usage ?? { inputTokens: 0, outputTokens: 0 };
      if (chosen.toolCalls) {
        return {
          kind: 'tool_calls',
          text: '',
          calls: chosen.toolCalls.map((c, i) => ({ id: `scripted-${lastUser}-${turn}-${i}`, tool: c.tool, args: c.args })),
          usage,
          model: 'scripted',
        };
      }
      return { kind: 'reply', text: labelScripted(chosen.reply ?? ''), usage, model: 'scripted' };
    },
  };
}

function findLastIndex<T>(items: T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}
