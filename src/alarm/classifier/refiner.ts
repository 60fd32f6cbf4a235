/**
 * The hook by which a trained classifier refines the adjudication's category probabilities
 * (SPEC §3 step 4: "a trained classifier may refine the rules, never replace the safety
 * rules"). The safety rules are applied after refinement, by the adjudication, on whatever the
 * refiner returns: a refiner can move probabilities, never a neutron alarm or a localized excess
 * in the cargo to RELEASE.
 *
 * Defined here until the pipeline's own hook lands in src/alarm/ (same shape); then this file
 * re-exports that one.
 */
import type { ProfileFeatures } from '../features.js';
import type { AssessmentCategory } from '../types.js';

export type CategoryProbabilities = Readonly<Record<AssessmentCategory, number>>;

/** Synchronous: the pipeline is pure and synchronous (called at occupancy end). */
export interface CategoryRefiner {
  refine(features: ProfileFeatures, probabilities: CategoryProbabilities): CategoryProbabilities;
}

/** The same contract for runners that must await (onnxruntime's `session.run`). */
export interface AsyncCategoryRefiner {
  refine(features: ProfileFeatures, probabilities: CategoryProbabilities): Promise<CategoryProbabilities>;
}
