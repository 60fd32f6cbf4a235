/**
 * Applying a classifier's probabilities to an assessment the pipeline already made — the path
 * for the asynchronous runner (onnxruntime's `session.run` cannot be awaited inside the pure,
 * synchronous pipeline), and the policy that keeps the safety rules above any model:
 *
 * - the category, confidence and probabilities become the classifier's, with a reason that says
 *   so (and what the rules had said);
 * - the disposition can only become more cautious: an INVESTIGATE stays INVESTIGATE, whatever
 *   the model says (that covers every safety rule: neutron alarm, localized excess in the cargo,
 *   doubts, no speed, an inconclusive category); a RELEASE stays RELEASE only if the classifier
 *   agrees on the category with at least `releaseProbability`, else it becomes INVESTIGATE;
 * - a neutron alarm is INVESTIGATE even if the assessment given was not (belt and braces).
 *
 * A refiner hooked inside the adjudication (synchronous, before the disposition is decided) may
 * do more — let a confident NORM release where the rules were only inconclusive — because there
 * the safety rules run after it on structured facts, not on its output.
 */
import type { AssessmentCategory, OccupancyAssessment } from '../types.js';
import { CATEGORIES } from './feature-vector.js';
import type { CategoryProbabilities } from './refiner.js';

export interface ApplyOptions {
  /** Smallest classifier probability that keeps a RELEASE. Default 0.8 (as adjudication). */
  readonly releaseProbability?: number;
  /** Named in the reason (e.g. the first 8 hex digits of the model's sha256). */
  readonly modelId?: string;
}

export function applyRefinement(
  a: OccupancyAssessment,
  refined: CategoryProbabilities,
  o: ApplyOptions = {},
): OccupancyAssessment {
  const valid = CATEGORIES.every((c) => Number.isFinite(refined[c]) && refined[c] >= 0);
  const sum = valid ? CATEGORIES.reduce((s, c) => s + refined[c], 0) : 0;
  if (!(sum > 0)) return a; // a broken model output changes nothing
  const p = Object.fromEntries(CATEGORIES.map((c) => [c, round(refined[c] / sum)])) as Record<
    AssessmentCategory,
    number
  >;
  let category: AssessmentCategory = 'background';
  for (const c of CATEGORIES) if (p[c] > p[category]) category = c;
  const confidence = p[category];
  const rules = a.assessment;
  const reasons = [
    ...rules.reasons,
    `classifier${o.modelId ? ` ${o.modelId}` : ''}: ${category} ${pct(confidence)} ` +
      `(rules: ${rules.category} ${pct(rules.confidence)})`,
  ];
  let disposition = rules.disposition;
  if (a.neutron.alarm && disposition !== 'INVESTIGATE') {
    disposition = 'INVESTIGATE';
    reasons.push('INVESTIGATE: neutron alarms are always investigated');
  } else if (disposition === 'RELEASE') {
    const needed = o.releaseProbability ?? 0.8;
    if (category !== rules.category || confidence < needed) {
      disposition = 'INVESTIGATE';
      reasons.push(
        `INVESTIGATE: the classifier does not confirm ${rules.category} (${category} ${pct(confidence)})`,
      );
    }
  }
  return { ...a, assessment: { category, disposition, confidence, probabilities: p, reasons } };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function pct(x: number): string {
  return `${Math.round(x * 100)} %`;
}
