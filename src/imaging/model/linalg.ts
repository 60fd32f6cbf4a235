/**
 * The little dense linear algebra the model fit needs, in doubles, deterministic: symmetric
 * eigen-decomposition (cyclic Jacobi), Cholesky, triangular inverse.
 */

/** Eigen-decomposition of a symmetric n × n matrix (row-major). Returns eigenpairs, largest first. */
export function symmetricEigen(a: Float64Array, n: number): { values: number[]; vectors: Float64Array[] } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 30; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = m[p * n + p]!;
        const aqq = m[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p]!;
          const akq = m[k * n + q]!;
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k]!;
          const aqk = m[q * n + k]!;
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j]! - m[i * n + i]! || i - j);
  return {
    values: order.map((i) => m[i * n + i]!),
    vectors: order.map((i) => {
      const vec = new Float64Array(n);
      for (let k = 0; k < n; k++) vec[k] = v[k * n + i]!;
      // Fix the sign (largest-magnitude entry positive) so the result does not depend on rotation order.
      let big = 0;
      for (let k = 1; k < n; k++) if (Math.abs(vec[k]!) > Math.abs(vec[big]!)) big = k;
      if (vec[big]! < 0) for (let k = 0; k < n; k++) vec[k] = -vec[k]!;
      return vec;
    }),
  };
}

/** Lower-triangular L with L Lᵀ = a (a symmetric positive definite), or null. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(sum > 0)) return null;
        l[i * n + i] = Math.sqrt(sum);
      } else l[i * n + j] = sum / l[j * n + j]!;
    }
  }
  return l;
}

/** Inverse of a lower-triangular matrix (also lower-triangular). */
export function invertLower(l: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    inv[j * n + j] = 1 / l[j * n + j]!;
    for (let i = j + 1; i < n; i++) {
      let sum = 0;
      for (let k = j; k < i; k++) sum -= l[i * n + k]! * inv[k * n + j]!;
      inv[i * n + j] = sum / l[i * n + i]!;
    }
  }
  return inv;
}
