// CPU kernels for the supernet, called through the XLA FFI: depthwise convolution (forward,
// input gradient, weight gradient), the 1x1-convolution weight gradient, and batch norm +
// activation + mask (statistics, forward, backward). Built on first use by _cpu_kernel.py.
//
// Why: XLA:CPU lowers a depthwise convolution to a slow grouped convolution, and
// its weight gradient (a K*K*C reduction over the batch) to loops that
// materialise every shifted window in memory (DESIGN.md section 7). Here each of
// the three pieces (forward, input gradient, weight gradient) is one pass over
// NHWC rows, channels innermost, in blocks of channels held in registers,
// split over XLA's intra-op thread pool by output rows.
//
// Layout: x [B, H, W, C], w [K, K, C], y / g [B, Ho, Wo, C], all float32,
// row-major. Padding is given as (pad_top, pad_left); the bottom/right padding is
// implied by the output size, so TensorFlow's SAME convention is the caller's.
//
// Threading: the calling thread and up to num_threads-1 pool tasks claim chunks
// of rows from one atomic counter; the caller waits only for chunks that have
// been claimed, so a task that starts late finds nothing to do and the call
// never waits on a pool that is busy elsewhere (no deadlock under nesting).
//
// Reductions (weight gradients, batch-norm sums) are cut into a fixed grid of slices that
// depends only on the shapes (FixedSlices), never on the thread count, and the slices'
// partial sums are combined in slice order: the results are bit-identical for any size of
// the thread pool (1 core or 64, NPROC=1 or 8), which a bit-exact resume on another machine
// needs. The grid has at most kMaxSlices slices, so at most that many threads share one
// reduction.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// Floor division (C++'s `/` truncates towards zero; column bounds can be negative).
inline int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

struct Geometry {
  int64_t b, h, w, c, k, ho, wo, stride, pad_top, pad_left;
};

// Runs body(row) for row in [0, rows) on the caller plus pool threads.
template <typename Body>
void ParallelRows(ffi::ThreadPool& pool, int64_t rows, int64_t grain, const Body& body) {
  struct State {
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
    std::mutex mu;
    std::condition_variable cv;
  };
  const int64_t chunks = (rows + grain - 1) / grain;
  auto state = std::make_shared<State>();
  auto work = [state, chunks, rows, grain, &body]() {
    for (;;) {
      const int64_t chunk = state->next.fetch_add(1);
      if (chunk >= chunks) return;
      const int64_t end = std::min(rows, (chunk + 1) * grain);
      for (int64_t row = chunk * grain; row < end; ++row) body(row);
      if (state->done.fetch_add(1) + 1 == chunks) {
        std::lock_guard<std::mutex> lock(state->mu);
        state->cv.notify_all();
      }
    }
  };
  const int64_t helpers = std::min<int64_t>(pool.num_threads(), chunks) - 1;
  // `body` lives on the caller's stack: helpers only touch it after claiming a chunk,
  // and the caller returns only once every claimed chunk is done.
  for (int64_t i = 0; i < helpers; ++i) pool.Schedule(decltype(work)(work));
  work();
  std::unique_lock<std::mutex> lock(state->mu);
  state->cv.wait(lock, [&] { return state->done.load() == chunks; });
}

// Eight floats; aligned(4) so loads and stores through it may be unaligned.
typedef float V8 __attribute__((vector_size(32), aligned(4)));

inline V8 Load(const float* p) { return *reinterpret_cast<const V8*>(p); }
inline void Store(float* p, V8 v) { *reinterpret_cast<V8*>(p) = v; }

// Calls block.template operator()<N>(c0) over the channels: N = 4 vectors (32 channels) while
// they last, then single vectors, then N = 0 for a scalar tail of fewer than 8 channels.
template <typename Block>
inline void ForChannelBlocks(int64_t channels, const Block& block) {
  int64_t c0 = 0;
  for (; c0 + 32 <= channels; c0 += 32) block.template operator()<4>(c0, 32);
  for (; c0 + 8 <= channels; c0 += 8) block.template operator()<1>(c0, 8);
  if (c0 < channels) block.template operator()<0>(c0, channels - c0);
}

// acc[0..N) += a * b over N vectors, or over `n` scalars when N == 0.
template <int N>
inline void Fma(V8* acc, float* tail, const float* __restrict a, const float* __restrict b, int64_t n) {
  if constexpr (N == 0) {
    for (int64_t c = 0; c < n; ++c) tail[c] += a[c] * b[c];
  } else {
    for (int v = 0; v < N; ++v) acc[v] += Load(a + 8 * v) * Load(b + 8 * v);
  }
}

template <int N>
inline void Put(float* __restrict out, const V8* acc, const float* tail, int64_t n, bool add) {
  if constexpr (N == 0) {
    for (int64_t c = 0; c < n; ++c) out[c] = (add ? out[c] : 0.0f) + tail[c];
  } else {
    for (int v = 0; v < N; ++v) Store(out + 8 * v, add ? Load(out + 8 * v) + acc[v] : acc[v]);
  }
}

constexpr int64_t kMaxSlices = 16;

// How many slices a reduction over `items` is cut into: one per `min_per_slice` items (at
// least one), at most kMaxSlices. A function of the shapes only (see Threading above).
inline int64_t FixedSlices(int64_t items, int64_t min_per_slice) {
  return std::clamp<int64_t>(items / min_per_slice, 1, kMaxSlices);
}

// First item of slice s of `slices` over `items` (slices differ in size by at most one item).
inline int64_t SliceBegin(int64_t s, int64_t slices, int64_t items) { return s * items / slices; }

// Sums body(first, end, partial, part) over items [0, items) cut into `slices` ranges, each range
// into its own zeroed partial of `size` floats (range 0 straight into `out`), then adds the
// partials into `out` in range order: no two threads write one buffer, and the result depends
// neither on which thread ran which range nor on how many threads there are. Each range is
// `parts` tasks (part = 0..parts-1) that must write disjoint elements of the partial.
template <typename Body>
void SumOverSlices(ffi::ThreadPool& pool, int64_t items, int64_t slices, int64_t size, float* out,
                   const Body& body, int64_t parts = 1) {
  std::memset(out, 0, size * sizeof(float));
  std::vector<float> partial((slices - 1) * size, 0.0f);
  ParallelRows(pool, slices * parts, 1, [&](int64_t task) {
    const int64_t s = task / parts;
    body(SliceBegin(s, slices, items), SliceBegin(s + 1, slices, items),
         s == 0 ? out : partial.data() + (s - 1) * size, task % parts);
  });
  for (int64_t s = 1; s < slices; ++s) {
    const float* src = partial.data() + (s - 1) * size;
    for (int64_t t = 0; t < size; ++t) out[t] += src[t];
  }
}

// One output pixel of the forward pass, all channels: y[b, oh, ow, :].
void ForwardPixel(const Geometry& g, const float* __restrict x, const float* __restrict w,
                  float* __restrict y, int64_t b, int64_t oh, int64_t ow) {
  float* out = y + ((b * g.ho + oh) * g.wo + ow) * g.c;
  ForChannelBlocks(g.c, [&]<int N>(int64_t c0, int64_t n) {
    V8 acc[N > 0 ? N : 1] = {};
    float tail[8] = {};
    for (int64_t i = 0; i < g.k; ++i) {
      const int64_t ih = oh * g.stride + i - g.pad_top;
      if (ih < 0 || ih >= g.h) continue;
      const float* xr = x + ((b * g.h + ih) * g.w) * g.c + c0;
      for (int64_t j = 0; j < g.k; ++j) {
        const int64_t iw = ow * g.stride + j - g.pad_left;
        if (iw < 0 || iw >= g.w) continue;
        Fma<N>(acc, tail, xr + iw * g.c, w + (i * g.k + j) * g.c + c0, n);
      }
    }
    Put<N>(out + c0, acc, tail, n, false);
  });
}

// kTile adjacent output pixels of a stride-1 row whose taps all lie inside the input row, NV
// vectors of channels from c0: the kernel taps are loaded once for all kTile pixels.
constexpr int64_t kTile = 4;

template <int NV>
inline void Stride1Tile(const Geometry& g, const float* __restrict x, const float* __restrict w,
                        float* __restrict out, int64_t b, int64_t oh, int64_t ow, int64_t c0) {
  V8 acc[kTile][NV] = {};
  for (int64_t i = 0; i < g.k; ++i) {
    const int64_t ih = oh + i - g.pad_top;
    if (ih < 0 || ih >= g.h) continue;
    const float* xr = x + ((b * g.h + ih) * g.w + ow - g.pad_left) * g.c + c0;
    const float* wr = w + i * g.k * g.c + c0;
    for (int64_t j = 0; j < g.k; ++j) {
      V8 wv[NV];
      for (int v = 0; v < NV; ++v) wv[v] = Load(wr + j * g.c + 8 * v);
      for (int64_t t = 0; t < kTile; ++t)
        for (int v = 0; v < NV; ++v) acc[t][v] += Load(xr + (t + j) * g.c + 8 * v) * wv[v];
    }
  }
  for (int64_t t = 0; t < kTile; ++t)
    for (int v = 0; v < NV; ++v) Store(out + t * g.c + c0 + 8 * v, acc[t][v]);
}

// One output row of the forward pass: y[b, oh, :, :]. Stride 1 runs the interior in tiles.
void ForwardRow(const Geometry& g, const float* __restrict x, const float* __restrict w,
                float* __restrict y, int64_t row) {
  const int64_t b = row / g.ho, oh = row % g.ho;
  int64_t ow = 0;
  if (g.stride == 1) {
    // Interior: every tap j of pixels ow .. ow + kTile - 1 inside [0, W).
    const int64_t lo = std::min(g.wo, g.pad_left), hi = std::min(g.wo, g.w - g.k + g.pad_left + 1);
    for (; ow < lo; ++ow) ForwardPixel(g, x, w, y, b, oh, ow);
    const int64_t c16 = g.c / 16 * 16, c8 = g.c / 8 * 8;
    for (; ow + kTile <= hi; ow += kTile) {
      float* out = y + ((b * g.ho + oh) * g.wo + ow) * g.c;
      for (int64_t c0 = 0; c0 < c16; c0 += 16) Stride1Tile<2>(g, x, w, out, b, oh, ow, c0);
      for (int64_t c0 = c16; c0 < c8; c0 += 8) Stride1Tile<1>(g, x, w, out, b, oh, ow, c0);
      if (c8 < g.c) {  // fewer than 8 channels left: scalar
        for (int64_t t = 0; t < kTile; ++t)
          for (int64_t c = c8; c < g.c; ++c) {
            float sum = 0.0f;
            for (int64_t i = 0; i < g.k; ++i) {
              const int64_t ih = oh + i - g.pad_top;
              if (ih < 0 || ih >= g.h) continue;
              for (int64_t j = 0; j < g.k; ++j)
                sum += x[((b * g.h + ih) * g.w + ow + t + j - g.pad_left) * g.c + c] * w[(i * g.k + j) * g.c + c];
            }
            out[t * g.c + c] = sum;
          }
      }
    }
  }
  for (; ow < g.wo; ++ow) ForwardPixel(g, x, w, y, b, oh, ow);
}

// One input row of the input gradient: dx[b, ih, :, :] = sum over the taps that read it.
void InputGradRow(const Geometry& g, const float* __restrict dy, const float* __restrict w,
                  float* __restrict dx, int64_t row) {
  const int64_t b = row / g.h, ih = row % g.h;
  for (int64_t iw = 0; iw < g.w; ++iw) {
    float* out = dx + (row * g.w + iw) * g.c;
    ForChannelBlocks(g.c, [&]<int N>(int64_t c0, int64_t n) {
      V8 acc[N > 0 ? N : 1] = {};
      float tail[8] = {};
      for (int64_t i = 0; i < g.k; ++i) {
        const int64_t th = ih + g.pad_top - i;  // = oh * stride
        if (th < 0 || th % g.stride != 0 || th / g.stride >= g.ho) continue;
        const float* gr = dy + ((b * g.ho + th / g.stride) * g.wo) * g.c + c0;
        for (int64_t j = 0; j < g.k; ++j) {
          const int64_t tw = iw + g.pad_left - j;
          if (tw < 0 || tw % g.stride != 0 || tw / g.stride >= g.wo) continue;
          Fma<N>(acc, tail, gr + (tw / g.stride) * g.c, w + (i * g.k + j) * g.c + c0, n);
        }
      }
      Put<N>(out + c0, acc, tail, n, false);
    });
  }
}

// dw[i, 0..K) += sum over ow in [lo, hi) of x[ow + j - pad_left] * dy[ow], for 8 channels from
// c0, all K taps of kernel row i at once (stride 1, every tap inside the row): each dy vector
// is loaded once for K taps.
template <int K>
inline void WeightGradTaps(const Geometry& g, const float* __restrict xr, const float* __restrict gr,
                           float* __restrict dwi, int64_t lo, int64_t hi, int64_t c0) {
  V8 acc[K] = {};
  for (int64_t ow = lo; ow < hi; ++ow) {
    const V8 gv = Load(gr + ow * g.c + c0);
    const float* xp = xr + (ow - g.pad_left) * g.c + c0;
    for (int j = 0; j < K; ++j) acc[j] += Load(xp + j * g.c) * gv;
  }
  for (int j = 0; j < K; ++j) Store(dwi + j * g.c + c0, Load(dwi + j * g.c + c0) + acc[j]);
}

// Adds one output row's contribution to the weight gradient: dw += x-window (.) dy[b, oh].
void WeightGradRow(const Geometry& g, const float* __restrict x, const float* __restrict dy,
                   float* __restrict dw, int64_t row) {
  const int64_t b = row / g.ho, oh = row % g.ho;
  const float* gr = dy + row * g.wo * g.c;
  // Stride-1 3x3/5x5/7x7: the columns whose K taps all fall inside the row run K taps at once
  // (8 channels at a time); the rest below skips them.
  const bool tiled = g.stride == 1 && (g.k == 3 || g.k == 5 || g.k == 7);
  const int64_t in_lo = tiled ? std::min(g.wo, g.pad_left) : 0;
  const int64_t in_hi = tiled ? std::max(in_lo, std::min(g.wo, g.w - g.k + g.pad_left + 1)) : 0;
  const int64_t c8 = tiled ? g.c / 8 * 8 : 0;
  for (int64_t i = 0; i < g.k; ++i) {
    const int64_t ih = oh * g.stride + i - g.pad_top;
    if (ih < 0 || ih >= g.h) continue;
    const float* xr = x + ((b * g.h + ih) * g.w) * g.c;
    float* dwi = dw + i * g.k * g.c;
    for (int64_t c0 = 0; c0 < c8 && in_lo < in_hi; c0 += 8) {
      if (g.k == 3) WeightGradTaps<3>(g, xr, gr, dwi, in_lo, in_hi, c0);
      if (g.k == 5) WeightGradTaps<5>(g, xr, gr, dwi, in_lo, in_hi, c0);
      if (g.k == 7) WeightGradTaps<7>(g, xr, gr, dwi, in_lo, in_hi, c0);
    }
    for (int64_t j = 0; j < g.k; ++j) {
      // Output columns whose tap j lands inside the row.
      const int64_t lo = std::max<int64_t>(0, -FloorDiv(j - g.pad_left, g.stride));
      const int64_t hi = std::min<int64_t>(g.wo, FloorDiv(g.w - 1 + g.pad_left - j, g.stride) + 1);
      float* dwp = dwi + j * g.c;
      // Column ranges still to do: all of [lo, hi) for the channels the tiles skipped, and
      // [lo, hi) minus the tiled interior [in_lo, in_hi) for the rest.
      auto columns = [&]<int N>(int64_t c0, int64_t n, int64_t from, int64_t to) {
        V8 acc[N > 0 ? N : 1] = {};
        float tail[8] = {};
        for (int64_t ow = from; ow < to; ++ow) {
          Fma<N>(acc, tail, xr + (ow * g.stride + j - g.pad_left) * g.c + c0, gr + ow * g.c + c0, n);
        }
        Put<N>(dwp + c0, acc, tail, n, true);
      };
      ForChannelBlocks(g.c, [&]<int N>(int64_t c0, int64_t n) {
        if (c0 + n <= c8 && in_lo < in_hi) {
          columns.template operator()<N>(c0, n, lo, std::min(hi, in_lo));
          columns.template operator()<N>(c0, n, std::max(lo, in_hi), hi);
        } else {
          columns.template operator()<N>(c0, n, lo, hi);
        }
      });
    }
  }
}

ffi::Error CheckGeometry(const Geometry& g) {
  if (g.k < 1 || g.stride < 1 || g.pad_top < 0 || g.pad_left < 0 || g.ho < 1 || g.wo < 1) {
    return ffi::Error::InvalidArgument("jaxnas depthwise: bad kernel size, stride, padding or output size");
  }
  return ffi::Error::Success();
}

ffi::Error Forward(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w,
                   ffi::ResultBuffer<ffi::F32> y, int64_t stride, int64_t pad_top, int64_t pad_left) {
  auto xd = x.dimensions(), yd = y->dimensions();
  Geometry g{xd[0], xd[1], xd[2], xd[3], w.dimensions()[0], yd[1], yd[2], stride, pad_top, pad_left};
  if (auto e = CheckGeometry(g); e.failure()) return e;
  const float *xp = x.typed_data(), *wp = w.typed_data();
  float* yp = y->typed_data();
  ParallelRows(pool, g.b * g.ho, 1, [&](int64_t row) { ForwardRow(g, xp, wp, yp, row); });
  return ffi::Error::Success();
}

ffi::Error InputGrad(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> dy, ffi::Buffer<ffi::F32> w,
                     ffi::ResultBuffer<ffi::F32> dx, int64_t stride, int64_t pad_top, int64_t pad_left) {
  auto gd = dy.dimensions(), xd = dx->dimensions();
  Geometry g{xd[0], xd[1], xd[2], xd[3], w.dimensions()[0], gd[1], gd[2], stride, pad_top, pad_left};
  if (auto e = CheckGeometry(g); e.failure()) return e;
  const float *gp = dy.typed_data(), *wp = w.typed_data();
  float* xp = dx->typed_data();
  if (g.stride == 1) {
    // A stride-1 input gradient is the forward correlation of dy with the flipped kernel,
    // padded by K - 1 - pad: the tiled forward path serves it.
    std::vector<float> flipped(g.k * g.k * g.c);
    for (int64_t t = 0; t < g.k * g.k; ++t)
      std::memcpy(flipped.data() + (g.k * g.k - 1 - t) * g.c, wp + t * g.c, g.c * sizeof(float));
    Geometry f{g.b, g.ho, g.wo, g.c, g.k, g.h, g.w, 1, g.k - 1 - g.pad_top, g.k - 1 - g.pad_left};
    if (f.pad_top < 0 || f.pad_left < 0) return ffi::Error::InvalidArgument("jaxnas depthwise: padding > K - 1");
    ParallelRows(pool, g.b * g.h, 1, [&](int64_t row) { ForwardRow(f, gp, flipped.data(), xp, row); });
    return ffi::Error::Success();
  }
  ParallelRows(pool, g.b * g.h, 1, [&](int64_t row) { InputGradRow(g, gp, wp, xp, row); });
  return ffi::Error::Success();
}

ffi::Error WeightGrad(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> dy,
                      ffi::ResultBuffer<ffi::F32> dw, int64_t stride, int64_t pad_top, int64_t pad_left) {
  auto xd = x.dimensions(), gd = dy.dimensions();
  Geometry g{xd[0], xd[1], xd[2], xd[3], dw->dimensions()[0], gd[1], gd[2], stride, pad_top, pad_left};
  if (auto e = CheckGeometry(g); e.failure()) return e;
  const float *xp = x.typed_data(), *gp = dy.typed_data();
  // At least 4 output rows per slice: each slice's partial (K*K*C floats) is small next to its work.
  SumOverSlices(pool, g.b * g.ho, FixedSlices(g.b * g.ho, 4), g.k * g.k * g.c,
                dw->typed_data(), [&](int64_t first, int64_t end, float* partial, int64_t) {
                  for (int64_t row = first; row < end; ++row) WeightGradRow(g, xp, gp, partial, row);
                });
  return ffi::Error::Success();
}

}  // namespace

// The three depthwise handlers share one signature: two float32 inputs, one output, geometry.
static auto DepthwiseBinding() {
  return ffi::Ffi::Bind()
      .Ctx<ffi::ThreadPool>()
      .Arg<ffi::Buffer<ffi::F32>>()
      .Arg<ffi::Buffer<ffi::F32>>()
      .Ret<ffi::Buffer<ffi::F32>>()
      .Attr<int64_t>("stride")
      .Attr<int64_t>("pad_top")
      .Attr<int64_t>("pad_left");
}

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxnasDepthwiseForward, Forward, DepthwiseBinding());

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxnasDepthwiseInputGrad, InputGrad, DepthwiseBinding());

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxnasDepthwiseWeightGrad, WeightGrad, DepthwiseBinding());

// ---------------------------------------------------------------- 1x1 convolution weight gradient
//
// dw[M, N] = x[K, M]^T dy[K, N] (K = B*H*W rows, M input and N output channels). XLA:CPU
// transposes the whole activation to [M, K] before its matmul; here a 6 x 16 register tile of
// dw is accumulated straight from the row-major rows (one broadcast of x and two vector loads of
// dy per row), over blocks of kRowBlock rows, each thread into its own partial sum.

namespace {

constexpr int64_t kRowBlock = 128;

template <int MR, int NV>
inline void OuterTile(const float* __restrict a, const float* __restrict b, float* __restrict c, int64_t rows,
                      int64_t m, int64_t n) {
  V8 acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = Load(c + i * n + 8 * v);
  for (int64_t k = 0; k < rows; ++k) {
    V8 bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = Load(b + k * n + 8 * v);
    for (int i = 0; i < MR; ++i) {
      const float s = a[k * m + i];
      const V8 av = {s, s, s, s, s, s, s, s};
      for (int v = 0; v < NV; ++v) acc[i][v] += av * bv[v];
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) Store(c + i * n + 8 * v, acc[i][v]);
}

template <int NV>
inline void OuterColumn(const float* a, const float* b, float* c, int64_t rows, int64_t m, int64_t n) {
  int64_t i = 0;
  for (; i + 6 <= m; i += 6) OuterTile<6, NV>(a + i, b, c + i * n, rows, m, n);
  switch (m - i) {
    case 5: OuterTile<5, NV>(a + i, b, c + i * n, rows, m, n); break;
    case 4: OuterTile<4, NV>(a + i, b, c + i * n, rows, m, n); break;
    case 3: OuterTile<3, NV>(a + i, b, c + i * n, rows, m, n); break;
    case 2: OuterTile<2, NV>(a + i, b, c + i * n, rows, m, n); break;
    case 1: OuterTile<1, NV>(a + i, b, c + i * n, rows, m, n); break;
    default: break;
  }
}

// c[M, :cols] += a[rows, M]^T b[rows, :cols] (b and c have rows of n floats).
void OuterBlock(const float* a, const float* b, float* c, int64_t rows, int64_t m, int64_t n, int64_t cols) {
  int64_t j = 0;
  for (; j + 16 <= cols; j += 16) OuterColumn<2>(a, b + j, c + j, rows, m, n);
  for (; j + 8 <= cols; j += 8) OuterColumn<1>(a, b + j, c + j, rows, m, n);
  for (; j < cols; ++j)  // fewer than 8 columns left
    for (int64_t k = 0; k < rows; ++k)
      for (int64_t i = 0; i < m; ++i) c[i * n + j] += a[k * m + i] * b[k * n + j];
}

ffi::Error PointwiseWeightGrad(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> dy,
                               ffi::ResultBuffer<ffi::F32> dw) {
  auto xd = x.dimensions(), gd = dy.dimensions();
  const int64_t m = xd[xd.size() - 1], n = gd[gd.size() - 1];
  const int64_t rows = m > 0 ? x.element_count() / m : 0;
  if (n < 1 || m < 1 || dy.element_count() != rows * n) {
    return ffi::Error::InvalidArgument("jaxnas pointwise weight grad: x and dy must have the same rows");
  }
  const float *xp = x.typed_data(), *gp = dy.typed_data();
  // Row slices of at least 8 blocks (1024 rows): a slice's partial (M*N floats) costs at most
  // 1/1024 of its multiply-adds to zero and add in. Few slices (few rows: late, wide layers)
  // also split the columns into tiles of 16, which need no partials: each element of dw is still
  // summed over the same rows in the same order, whatever the tiles or threads.
  const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  const int64_t slices = FixedSlices(blocks, 8), tiles = slices < 4 ? (n + 15) / 16 : 1;
  const int64_t tile = tiles == 1 ? n : 16;
  SumOverSlices(pool, blocks, slices, m * n, dw->typed_data(),
                [&](int64_t first, int64_t end, float* c, int64_t part) {
                  const int64_t j0 = part * tile, cols = std::min(n - j0, tile);
                  for (int64_t blk = first; blk < end; ++blk) {
                    const int64_t k0 = blk * kRowBlock, k1 = std::min(rows, k0 + kRowBlock);
                    OuterBlock(xp + k0 * m, gp + k0 * n + j0, c + j0, k1 - k0, m, n, cols);
                  }
                }, tiles);
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxnasPointwiseWeightGrad, PointwiseWeightGrad,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

// ---------------------------------------------------------------- batch norm + activation + mask
//
// The supernet's y = act(BN(x)) * mask with batch statistics, over x [R, C] (R = B*H*W rows).
// XLA:CPU spends separate passes on the mean, the variance, the normalisation and, backward,
// on each reduction and the input gradient; here the forward is two passes (statistics, then
// output) and the backward two (per-channel sums, then dx). Statistics are sums of x - x[0] (no
// cancellation when |mean| >> std); every sum is float per 256 rows, then double across them.

namespace {

enum Act : int64_t { kNone = 0, kRelu = 1, kRelu6 = 2, kHswish = 3 };

template <int64_t A>
inline float ActValue(float z) {
  if constexpr (A == kRelu) return std::max(z, 0.0f);
  if constexpr (A == kRelu6) return std::min(std::max(z, 0.0f), 6.0f);
  if constexpr (A == kHswish) return z * std::min(std::max(z + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f);
  return z;
}

// Branch-free (selects only): a data-dependent branch here mispredicts on half the elements.
template <int64_t A>
inline float ActGrad(float z) {
  if constexpr (A == kRelu) return static_cast<float>(z > 0.0f);
  if constexpr (A == kRelu6) return static_cast<float>((z > 0.0f) & (z < 6.0f));
  if constexpr (A == kHswish) {
    const float inside = static_cast<float>((z >= -3.0f) & (z <= 3.0f));
    return inside * (2.0f * z + 3.0f) * (1.0f / 6.0f) + static_cast<float>(z > 3.0f);
  }
  return 1.0f;
}

// Calls f.template operator()<A>() with the activation as a compile-time constant, so the
// per-element loops have no branch on it (and vectorise).
template <typename F>
void WithActivation(int64_t act, const F& f) {
  switch (act) {
    case kRelu: f.template operator()<kRelu>(); break;
    case kRelu6: f.template operator()<kRelu6>(); break;
    case kHswish: f.template operator()<kHswish>(); break;
    default: f.template operator()<kNone>(); break;
  }
}

// Runs body(first_row, end_row, sums) over chunks of 256 rows; sums[k * c + ch] (k < kinds) are
// the chunk's float sums, added in double into its slice's partial (FixedSlices of the chunks),
// and the slices' partials into `total` in slice order.
template <typename Body>
void ReduceRows(ffi::ThreadPool& pool, int64_t rows, int64_t c, int kinds, std::vector<double>& total,
                const Body& body) {
  constexpr int64_t kChunk = 256;  // rows summed in float before going to double
  const int64_t chunks = (rows + kChunk - 1) / kChunk;
  const int64_t slices = FixedSlices(chunks, 1);
  std::vector<double> partial(slices * kinds * c, 0.0);
  ParallelRows(pool, slices, 1, [&](int64_t s) {
    std::vector<float> sums(kinds * c);
    double* acc = partial.data() + s * kinds * c;
    for (int64_t ch = SliceBegin(s, slices, chunks); ch < SliceBegin(s + 1, slices, chunks); ++ch) {
      std::fill(sums.begin(), sums.end(), 0.0f);
      body(ch * kChunk, std::min(rows, (ch + 1) * kChunk), sums.data());
      for (int64_t t = 0; t < kinds * c; ++t) acc[t] += sums[t];
    }
  });
  total.assign(kinds * c, 0.0);
  for (int64_t s = 0; s < slices; ++s)
    for (int64_t t = 0; t < kinds * c; ++t) total[t] += partial[s * kinds * c + t];
}

ffi::Error BnStats(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> x, ffi::ResultBuffer<ffi::F32> mean,
                   ffi::ResultBuffer<ffi::F32> var) {
  const int64_t c = mean->element_count(), rows = c > 0 ? x.element_count() / c : 0;
  if (c < 1 || rows < 1) return ffi::Error::InvalidArgument("jaxnas batch norm: empty input");
  const float* xp = x.typed_data();
  // Sums of x - x[0] (per channel): a shift close to the data keeps E[d^2] - E[d]^2 from
  // cancelling when |mean| >> std (float partial sums of x^2 would lose the variance).
  const float* shift = xp;
  std::vector<double> total;
  ReduceRows(pool, rows, c, 2, total, [&](int64_t r0, int64_t r1, float* sums) {
    float* __restrict s1 = sums;
    float* __restrict s2 = sums + c;
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = xp + r * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        const float d = xr[ch] - shift[ch];
        s1[ch] += d;
        s2[ch] += d * d;
      }
    }
  });
  float *mp = mean->typed_data(), *vp = var->typed_data();
  for (int64_t ch = 0; ch < c; ++ch) {
    const double m = total[ch] / rows;
    mp[ch] = static_cast<float>(shift[ch] + m);
    vp[ch] = static_cast<float>(std::max(total[c + ch] / rows - m * m, 0.0));
  }
  return ffi::Error::Success();
}

// Per-channel affine form of the normalisation: z = x * a + b, with inv = 1 / sqrt(var + eps).
void Affine(int64_t c, const float* mean, const float* var, const float* scale, const float* offset, float eps,
            std::vector<float>& a, std::vector<float>& b, std::vector<float>& inv) {
  a.resize(c);
  b.resize(c);
  inv.resize(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    const float root = std::sqrt(var[ch] + eps);
    inv[ch] = 1.0f / root;
    a[ch] = scale[ch] / root;
    b[ch] = offset[ch] - mean[ch] * a[ch];
  }
}

ffi::Error BnActForward(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> mean,
                        ffi::Buffer<ffi::F32> var, ffi::Buffer<ffi::F32> scale, ffi::Buffer<ffi::F32> offset,
                        ffi::Buffer<ffi::F32> mask, ffi::ResultBuffer<ffi::F32> y, float eps, int64_t act) {
  const int64_t c = mean.element_count(), rows = c > 0 ? x.element_count() / c : 0;
  std::vector<float> a, b, inv;
  Affine(c, mean.typed_data(), var.typed_data(), scale.typed_data(), offset.typed_data(), eps, a, b, inv);
  const float *xp = x.typed_data(), *mp = mask.typed_data();
  float* yp = y->typed_data();
  const int64_t grain = std::max<int64_t>(1, 16384 / c);
  const float *ap = a.data(), *bp = b.data();
  WithActivation(act, [&]<int64_t A>() {
    ParallelRows(pool, (rows + grain - 1) / grain, 1, [&](int64_t blk) {
      for (int64_t r = blk * grain; r < std::min(rows, (blk + 1) * grain); ++r) {
        const float* __restrict xr = xp + r * c;
        float* __restrict yr = yp + r * c;
        for (int64_t ch = 0; ch < c; ++ch) yr[ch] = ActValue<A>(xr[ch] * ap[ch] + bp[ch]) * mp[ch];
      }
    });
  });
  return ffi::Error::Success();
}

// Vector forms of the activation and its derivative (selects on lane masks: GCC turned the
// scalar forms into branches for some activations, 20x slower on random signs).
template <int64_t A>
inline V8 ActValueV(V8 z) {
  const V8 zero = {}, six = zero + 6.0f;
  if constexpr (A == kRelu) return z > zero ? z : zero;
  if constexpr (A == kRelu6) {
    const V8 r = z > zero ? z : zero;
    return r < six ? r : six;
  }
  if constexpr (A == kHswish) {
    V8 r = z + 3.0f;
    r = r > zero ? r : zero;
    r = r < six ? r : six;
    return z * r * (1.0f / 6.0f);
  }
  return z;
}

template <int64_t A>
inline V8 ActGradV(V8 z) {
  const V8 zero = {}, one = zero + 1.0f;
  if constexpr (A == kRelu) return z > zero ? one : zero;
  if constexpr (A == kRelu6) return ((z > zero) & (z < zero + 6.0f)) ? one : zero;
  if constexpr (A == kHswish) {
    const V8 g = (2.0f * z + 3.0f) * (1.0f / 6.0f);
    const V8 lo = z < zero - 3.0f ? zero : g;
    return z > zero + 3.0f ? one : lo;
  }
  return one;
}

// One row of the backward pass's sums: 8 channels at a time in vectors, then a scalar tail.
template <int64_t A>
inline void BackwardSumsRow(int64_t c, const float* __restrict xr, const float* __restrict gr,
                            const float* __restrict a, const float* __restrict b, const float* __restrict mu,
                            const float* __restrict inv, const float* __restrict m, float* __restrict s_dz,
                            float* __restrict s_dzx, float* __restrict s_gy) {
  int64_t ch = 0;
  for (; ch + 8 <= c; ch += 8) {
    const V8 x = Load(xr + ch), g = Load(gr + ch);
    const V8 z = x * Load(a + ch) + Load(b + ch);
    const V8 dz = g * Load(m + ch) * ActGradV<A>(z);
    Store(s_dz + ch, Load(s_dz + ch) + dz);
    Store(s_dzx + ch, Load(s_dzx + ch) + dz * (x - Load(mu + ch)) * Load(inv + ch));
    Store(s_gy + ch, Load(s_gy + ch) + g * ActValueV<A>(z));
  }
  for (; ch < c; ++ch) {
    const float z = xr[ch] * a[ch] + b[ch];
    const float dz = gr[ch] * m[ch] * ActGrad<A>(z);
    s_dz[ch] += dz;
    s_dzx[ch] += dz * (xr[ch] - mu[ch]) * inv[ch];
    s_gy[ch] += gr[ch] * ActValue<A>(z);
  }
}

// One row of the input gradient: dx = a * (dz - mean(dz) - xhat * mean(dz * xhat)).
template <int64_t A>
inline void BackwardDxRow(int64_t c, const float* __restrict xr, const float* __restrict gr,
                          const float* __restrict a, const float* __restrict b, const float* __restrict mu,
                          const float* __restrict inv, const float* __restrict m, const float* __restrict mdz,
                          const float* __restrict mdzx, float* __restrict out) {
  int64_t ch = 0;
  for (; ch + 8 <= c; ch += 8) {
    const V8 x = Load(xr + ch), av = Load(a + ch);
    const V8 z = x * av + Load(b + ch);
    const V8 dz = Load(gr + ch) * Load(m + ch) * ActGradV<A>(z);
    const V8 xhat = (x - Load(mu + ch)) * Load(inv + ch);
    Store(out + ch, av * (dz - Load(mdz + ch) - xhat * Load(mdzx + ch)));
  }
  for (; ch < c; ++ch) {
    const float z = xr[ch] * a[ch] + b[ch];
    const float dz = gr[ch] * m[ch] * ActGrad<A>(z);
    const float xhat = (xr[ch] - mu[ch]) * inv[ch];
    out[ch] = a[ch] * (dz - mdz[ch] - xhat * mdzx[ch]);
  }
}

ffi::Error BnActBackward(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> dy, ffi::Buffer<ffi::F32> x,
                         ffi::Buffer<ffi::F32> mean, ffi::Buffer<ffi::F32> var, ffi::Buffer<ffi::F32> scale,
                         ffi::Buffer<ffi::F32> offset, ffi::Buffer<ffi::F32> mask, ffi::ResultBuffer<ffi::F32> dx,
                         ffi::ResultBuffer<ffi::F32> dscale, ffi::ResultBuffer<ffi::F32> doffset,
                         ffi::ResultBuffer<ffi::F32> dmask, float eps, int64_t act) {
  const int64_t c = mean.element_count(), rows = c > 0 ? x.element_count() / c : 0;
  std::vector<float> a, b, inv;
  Affine(c, mean.typed_data(), var.typed_data(), scale.typed_data(), offset.typed_data(), eps, a, b, inv);
  const float *gp = dy.typed_data(), *xp = x.typed_data(), *mp = mask.typed_data();
  // Pass 1: per channel, sum dz, sum dz * xhat and sum dy * act(z) (dz = dy * mask * act'(z)).
  std::vector<double> total;
  const float *ap = a.data(), *bp = b.data(), *mup = mean.typed_data(), *invp = inv.data();
  WithActivation(act, [&]<int64_t A>() {
    ReduceRows(pool, rows, c, 3, total, [&](int64_t r0, int64_t r1, float* sums) {
      float* __restrict s_dz = sums;
      float* __restrict s_dzx = sums + c;
      float* __restrict s_gy = sums + 2 * c;
      for (int64_t r = r0; r < r1; ++r)
        BackwardSumsRow<A>(c, xp + r * c, gp + r * c, ap, bp, mup, invp, mp, s_dz, s_dzx, s_gy);
    });
  });
  std::vector<float> mdz(c), mdzx(c);
  float *dsp = dscale->typed_data(), *dop = doffset->typed_data(), *dmp = dmask->typed_data();
  for (int64_t ch = 0; ch < c; ++ch) {
    dop[ch] = static_cast<float>(total[ch]);
    dsp[ch] = static_cast<float>(total[c + ch]);
    dmp[ch] = static_cast<float>(total[2 * c + ch]);
    mdz[ch] = static_cast<float>(total[ch] / rows);
    mdzx[ch] = static_cast<float>(total[c + ch] / rows);
  }
  // Pass 2: dx = a * (dz - mean(dz) - xhat * mean(dz * xhat)).
  float* dxp = dx->typed_data();
  const int64_t grain = std::max<int64_t>(1, 16384 / c);
  const float *mdzp = mdz.data(), *mdzxp = mdzx.data();
  WithActivation(act, [&]<int64_t A>() {
    ParallelRows(pool, (rows + grain - 1) / grain, 1, [&](int64_t blk) {
      for (int64_t r = blk * grain; r < std::min(rows, (blk + 1) * grain); ++r)
        BackwardDxRow<A>(c, xp + r * c, gp + r * c, ap, bp, mup, invp, mp, mdzp, mdzxp, dxp + r * c);
    });
  });
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxnasBnStats, BnStats,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxnasBnActForward, BnActForward,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Attr<float>("eps")
                                  .Attr<int64_t>("act"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxnasBnActBackward, BnActBackward,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Attr<float>("eps")
                                  .Attr<int64_t>("act"));
