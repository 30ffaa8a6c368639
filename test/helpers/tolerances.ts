// Every numerical tolerance of the tests, each with why it has its value. Unless said otherwise
// an error is norm-wise relative (relErr in compare.ts: ||ours - ref|| / max(||ref||, 1e-12)), so
// one tolerance fits tensors of any size and scale. float32's unit roundoff is 6e-8.

/** One kernel's output vs PyTorch float32: both sides round up to ~10^3 products and sums per
 *  output in float32, in different orders; a wrong index or term gives errors of 1e-2 and more. */
export const TOL_FORWARD = 1e-5;

/** One kernel's gradients (and 3 optimizer steps) vs PyTorch: weight and bias gradients sum over
 *  the whole batch and every position (10^4 and more float32 terms, in another order). */
export const TOL_BACKWARD = 1e-4;

/** A whole network (fused vs multi-branch, or vs PyTorch): tens of layers each add a forward
 *  error, and BN folded into a kernel rounds differently than BN applied after it. */
export const TOL_NETWORK = 1e-4;

/** float32 analytic gradients vs float64 central differences (h = 1e-6): the float32 side alone
 *  is off by ~1e-6, the quotient by ~h^2 + 1e-16 / h; wrong terms give errors of order 1. */
export const TOL_FINITE_DIFF = 1e-3;

/** BN running statistics: a per-channel mean and variance, computed like a forward output. */
export const TOL_RUNNING_STATS = 1e-5;

/** A loss value: one forward reduction over the batch, like a forward output. */
export const TOL_LOSS = 1e-5;

/** Parameters, optimizer state and running statistics after training steps vs PyTorch: they are
 *  made from gradients, so the backward tolerance. */
export const TOL_STATE = 1e-4;

/** The same float32 computation with only the batch split or the input's storage type changed:
 *  at most a few float32 sums in another order. */
export const TOL_SAME_MATH = 1e-6;

/** Absolute, a normalized float32 pixel ((x / 255 - mean) / std, |value| < 3): float32 rounding
 *  alone stays under 1e-6. */
export const TOL_PIXEL = 1e-5;

/** Absolute, a normalized zero pixel (-mean / std) in float32 against float64: one rounding. */
export const TOL_PIXEL_ZERO = 1e-6;

/** Absolute, a dataset's per-channel mean or std in float64 against a float64 recomputation:
 *  only the order of the sums differs. */
export const TOL_STATS_F64 = 1e-9;

/** The same weights and input through the library in Node and in Chromium: the same .wasm on two
 *  V8s, so equal bits are expected; the margin is the forward's, for a browser whose relaxed
 *  multiply-add rounds once where Node's rounds twice (the spec allows either). */
export const TOL_RUNTIMES = 1e-5;
/** Absolute, our eval transform (resize, crop, normalize) against torchvision's on PIL images: the
 *  8-bit stages are PIL's integer arithmetic done the same way (bytes equal, resize.test.ts), and
 *  x / 255, - mean, / std are float32 steps in torch's order; only x / 255 goes through float64
 *  first, which can round one way where float32 division rounds the other: at most one float32
 *  ulp, i.e. under 1e-6 for values below 3 in magnitude. (Measured: 0, bit for bit.) */
export const TOL_TORCHVISION = 1e-6;
