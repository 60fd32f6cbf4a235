/**
 * The alarm classifier a configuration names (`classifier.model`), ready for the pipeline's
 * synchronous `refiner` hook: the file is checked against its model card (sha256, features,
 * categories) and evaluated by the TypeScript mirror of its graph (onnx-refiner.ts).
 */
import type { CategoryRefiner } from '../adjudicate.js';
import { loadModelFile, MirrorCategoryRefiner } from './onnx-refiner.js';

export async function loadClassifier(
  section: { readonly model: string } | undefined,
): Promise<CategoryRefiner | undefined> {
  if (section === undefined) return undefined;
  return new MirrorCategoryRefiner(await loadModelFile(section.model));
}
