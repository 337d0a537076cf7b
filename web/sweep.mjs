// The demo's workload: a grid of SIR parameter points (examples/demo/sir.h), as the bytes
// simulate_sir reads. Pure, so the page and the tests (Node) build identical inputs.
export const POINT_SIZE = 32;  // sweep_point: double beta, gamma; uint64 seed; int32 replicates (+4 padding)
export const RESULT_SIZE = 32; // sweep_result: attack_rate, peak, days, major (doubles)

/** grid × grid points: beta (rows) over [0.05, 0.6], gamma (columns) over [0.05, 0.5]. */
export function sweepInputs({ grid, replicates, failAt = -1 }) {
  const bytes = new ArrayBuffer(grid * grid * POINT_SIZE);
  const v = new DataView(bytes);
  for (let i = 0; i < grid * grid; i++) {
    const row = Math.floor(i / grid), col = i % grid, o = i * POINT_SIZE;
    v.setFloat64(o, 0.05 + 0.55 * row / Math.max(1, grid - 1), true);
    v.setFloat64(o + 8, 0.05 + 0.45 * col / Math.max(1, grid - 1), true);
    v.setBigUint64(o + 16, BigInt(i + 1) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn, true);
    // replicates 0 makes simulate_sir fail with its own message: the demo's failing task
    v.setInt32(o + 24, i === failAt ? 0 : replicates, true);
  }
  return bytes;
}
