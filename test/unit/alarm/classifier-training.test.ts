/**
 * Retraining from the recorded config reproduces the committed model byte for byte (issue 4:
 * "records its hash"). This test fails when the pipeline's features or probabilities change —
 * by design: run `rpm-gateway train-classifier` and commit the new model and card together.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sha256, trainClassifier, type ModelCard } from '../../../src/alarm/classifier/train.js';

describe('train-classifier is reproducible', () => {
  it('the same seed and config give the committed sha256 and model card', () => {
    const card = JSON.parse(readFileSync('models/alarm-category-refiner.json', 'utf8')) as ModelCard;
    const { onnx, card: again } = trainClassifier(card.config, card.file);
    expect(sha256(onnx)).toBe(card.sha256);
    expect(Buffer.from(onnx).equals(readFileSync('models/alarm-category-refiner.onnx'))).toBe(true);
    expect(JSON.parse(JSON.stringify(again))).toEqual(card);
  }, 180_000);
});
