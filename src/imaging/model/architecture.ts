/**
 * The shape of the project's own anomaly model, shared by the graph writer, the TypeScript
 * feature extractor used to fit it, and the pipeline's tiling. A user-supplied model only has to
 * honour the input/output contract (docs/imaging.md), not this architecture.
 *
 * Per output cell (stride 8 px) the model computes patch statistics over a 16 × 16 window:
 * local mean and log-variance, the context mean and log-variance of local means over 19 × 19
 * cells (≈ 150 px), the local mean's z-score against its context, and the projections of the
 * patch on the leading principal components of normal patches (texture). A Gaussian mixture
 * fitted on normal scans turns the feature vector into a negative log-likelihood; the score is
 * that, calibrated so that 1.0 is the region threshold.
 */
export const TILE = 512;
export const STRIDE = 8;
export const WINDOW = 16;
/** AveragePool/Conv pads so that output cell j is centred on pixels [8j, 8j + 8). */
export const WINDOW_PAD = 4;
export const CONTEXT_CELLS = 19;
export const CONTEXT_PAD = 9;
/** Context the tile border must provide: (window/2 + context radius · stride), rounded to the stride. */
export const MARGIN = 80;
export const TEXTURE_COMPONENTS = 12;
export const MIXTURE_COMPONENTS = 8;
export const FEATURES = 5 + TEXTURE_COMPONENTS;
export const VAR_EPS = 1e-6;
/** Floor of the context standard deviation in the z-score (0.01 normalised = 0.1 optical depth). */
export const Z_FLOOR = 1e-4;
/** Optical depth that maps to 1.0 in the model input. */
export const DEPTH_SCALE = 10;
export const OPSET = 17;
export const IR_VERSION = 8;

export const INPUT_NAME = 'image';
export const OUTPUT_NAME = 'score';
