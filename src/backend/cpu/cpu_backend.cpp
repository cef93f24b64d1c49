// The CPU backend: the ops of backend.h on the persistent thread pool with the active kernel table.
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "base/error.h"
#include "base/fp16.h"
#include "base/log.h"
#include "base/thread_pool.h"
#include "kernels/kernels.h"

namespace hearth::backend {

namespace {

// Below this many multiply-adds an op runs on the calling thread alone.
constexpr int64_t kMinParallelWork = 1 << 18;

// A weight repacked for the kernels (kernels.h pack_group), in anonymous memory of its own.
class Packed {
 public:
  Packed(size_t size, uint64_t group_bytes, const WeightView& w)
      : size_(size),
        group_bytes_(group_bytes),
        type_(w.type),
        rows_(w.rows),
        cols_(w.cols),
        row_bytes_(w.row_bytes) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    // No MADV_HUGEPAGE: zeroing huge pages tripled the packing time (1.0 s vs 0.3 s for 1B) for no
    // measurable decoding gain.
    mem_ = static_cast<uint8_t*>(p);
  }
  ~Packed() {
    if (mem_) ::munmap(mem_, size_);
  }
  Packed(Packed&& o) noexcept
      : mem_(std::exchange(o.mem_, nullptr)),
        size_(o.size_),
        group_bytes_(o.group_bytes_),
        type_(o.type_),
        rows_(o.rows_),
        cols_(o.cols_),
        row_bytes_(o.row_bytes_) {}
  Packed(const Packed&) = delete;
  Packed& operator=(const Packed&) = delete;
  Packed& operator=(Packed&&) = delete;

  uint8_t* data() const { return mem_; }
  uint64_t group_bytes() const { return group_bytes_; }
  // The weight this copy was made from (the cache is keyed by data pointer only).
  bool fits(const WeightView& w) const {
    return w.type == type_ && w.rows == rows_ && w.cols == cols_ && w.row_bytes == row_bytes_;
  }

 private:
  uint8_t* mem_ = nullptr;
  size_t size_;
  uint64_t group_bytes_;
  tensor::Type type_;
  int64_t rows_, cols_;
  uint64_t row_bytes_;
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int n_threads)
      : pool_(n_threads > 0 ? n_threads : physical_cores()), k_(kernels::active()), scratch_(pool_.size()) {}

  const char* name() const override { return "cpu"; }

  bool prepare(const WeightView& w, const ReleaseFn& release) override {
    static const bool off = std::getenv("HEARTH_NO_PACK") != nullptr;  // for comparisons
    const auto& tk = k_.types[static_cast<uint32_t>(w.type)];
    const auto& ti = tensor::type_info(w.type);
    if (off || !w || !tk.dot_packed || w.rows <= 0 || w.rows % kernels::kPackRows != 0 || w.cols <= 0 ||
        w.cols % ti.block_size != 0)
      return false;
    if (auto it = packed_.find(w.data); it != packed_.end()) return it->second.fits(w);
    const uint64_t gs = kernels::packed_group_bytes(w.type, w.cols);
    if (gs == 0) return false;
    const int64_t groups = w.rows / kernels::kPackRows;
    Packed p(gs * static_cast<uint64_t>(groups), gs, w);
    if (!p.data()) {
      log::warn("not enough memory to repack a {} x {} {} weight; using it as stored", w.rows, w.cols,
                tensor::type_name(w.type));
      return false;
    }
    // Slices of a few MiB: each one's original rows are released as soon as it is packed.
    const int64_t slice = std::max<int64_t>(1, (int64_t{8} << 20) / static_cast<int64_t>(gs));
    for (int64_t s0 = 0; s0 < groups; s0 += slice) {
      const int64_t s1 = std::min(groups, s0 + slice);
      pool_.parallel_for(s1 - s0, [&](int64_t b, int64_t e) {
        for (int64_t g = s0 + b; g < s0 + e; ++g)
          kernels::pack_group(w.type, w.cols, w.data + g * kernels::kPackRows * w.row_bytes, w.row_bytes,
                              p.data() + g * gs);
      });
      const uint64_t group_rows = static_cast<uint64_t>(kernels::kPackRows) * w.row_bytes;
      if (release) release(w.data + s0 * group_rows, (s1 - s0) * group_rows);
    }
    packed_.emplace(w.data, std::move(p));
    packed_bytes_ += gs * static_cast<uint64_t>(groups);
    return true;
  }
  uint64_t prepared_bytes() const override { return packed_bytes_; }
  int n_threads() const override { return pool_.size(); }

  void get_rows(const WeightView& w, const int32_t* ids, int n, float* out) override {
    for (int i = 0; i < n; ++i) {
      if (ids[i] < 0 || ids[i] >= w.rows)
        fail("token id {} is out of range (vocabulary of {})", ids[i], w.rows);
      tensor::dequantize_row(w.type, w.data + static_cast<uint64_t>(ids[i]) * w.row_bytes, out + i * w.cols,
                             w.cols);
    }
  }

  void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t dim, float eps) override {
    for (int64_t r = 0; r < n_rows; ++r) {
      const float* xr = x + r * dim;
      float* yr = y + r * dim;
      // Products in float, sum in double, mean and root in float: the reference's exact arithmetic,
      // so 8-bit activation rounding downstream lands on the same side.
      double ss = 0;
      for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i] * xr[i]);
      const float mean = static_cast<float>(ss / static_cast<double>(dim));
      const float scale = 1.0f / std::sqrt(mean + eps);
      if (w) {
        for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * scale * w[i];
      } else {
        for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * scale;
      }
    }
  }

  void matmul(const WeightView& w, const float* x, int64_t n, float* y, const float* bias,
              int64_t n_rowwise) override {
    const auto& tk = k_.types[static_cast<uint32_t>(w.type)];
    if (!tk.vec_dot)
      fail("tensor type {} is not supported for matrix multiplication", tensor::type_name(w.type));
    const int64_t K = w.cols, N = w.rows;
    // 1. Activations to the weight type's activation format, once per row.
    const uint8_t* act;
    uint64_t act_row;
    if (tk.act_type == tensor::Type::F32) {
      act = reinterpret_cast<const uint8_t*>(x);
      act_row = static_cast<uint64_t>(K) * sizeof(float);
    } else {
      act_row = tensor::row_size(tk.act_type, K);
      if (act_buf_.size() < act_row * n) act_buf_.resize(act_row * n);
      uint8_t* dst = act_buf_.data();
      auto convert = [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) tk.from_float(x + i * K, dst + i * act_row, K);
      };
      if (n * K < kMinParallelWork)
        convert(0, n);
      else
        pool_.parallel_for(n, convert);
      act = dst;
    }
    // 2. Output rows split across threads; the rows of x after the first n1 go through cache-sized
    // column blocks of the tiled kernel (types without one use the one-row kernel for all). Packed
    // weights: one kernel for every column, bit-identical to the one-row kernel (n_rowwise moot).
    const Packed* pk = nullptr;
    if (!packed_.empty()) {
      if (auto it = packed_.find(w.data); it != packed_.end() && it->second.fits(w)) pk = &it->second;
    }
    const int64_t n1 = !tk.dot_tile ? n : n_rowwise < 0 ? (n == 1 ? 1 : 0) : std::min(n, n_rowwise);
    auto packed_rows = [&](int64_t r0, int64_t r1) {  // r0, r1: multiples of kPackRows
      constexpr int64_t kColBlock = 64, kRowBlock = 64;
      const uint64_t gs = pk->group_bytes();
      for (int64_t cb = 0; cb < n; cb += kColBlock) {
        const int nc = static_cast<int>(std::min(n, cb + kColBlock) - cb);
        for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
          const int nr = static_cast<int>(std::min(r1, rb + kRowBlock) - rb);
          tk.dot_packed(K, nr, nc, pk->data() + rb / kernels::kPackRows * gs, gs, act + cb * act_row, act_row,
                        y + cb * N + rb, N);
        }
      }
    };
    auto rows = [&](int64_t r0, int64_t r1) {
      if (pk) {
        packed_rows(r0, r1);
        if (bias) {
          for (int64_t c = 0; c < n; ++c)
            for (int64_t r = r0; r < r1; ++r) y[c * N + r] += bias[r];
        }
        return;
      }
      // One-row arithmetic: a weight row meets every such activation row while it is in L1.
      if (n1 == 1 || (n1 > 1 && !tk.dot_rows)) {
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = 0; c < n1; ++c)
            y[c * N + r] = tk.vec_dot(K, w.data + r * w.row_bytes, act + c * act_row);
      } else if (n1 > 1) {
        tk.dot_rows(K, static_cast<int>(r1 - r0), static_cast<int>(n1), w.data + r0 * w.row_bytes,
                    w.row_bytes, act, act_row, y + r0, N);
      }
      if (n1 < n) {
        constexpr int64_t kColBlock = 64, kRowBlock = 64;
        for (int64_t cb = n1; cb < n; cb += kColBlock) {
          const int64_t ce = std::min(n, cb + kColBlock);
          for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
            const int64_t re = std::min(r1, rb + kRowBlock);
            if (tk.dot_tile) {
              for (int64_t r = rb; r < re; r += tk.tile_rows) {
                const int nr = static_cast<int>(std::min<int64_t>(tk.tile_rows, re - r));
                for (int64_t c = cb; c < ce; c += tk.tile_cols) {
                  const int nc = static_cast<int>(std::min<int64_t>(tk.tile_cols, ce - c));
                  tk.dot_tile(K, nr, nc, w.data + r * w.row_bytes, w.row_bytes, act + c * act_row, act_row,
                              y + c * N + r, N);
                }
              }
            } else {
              for (int64_t c = cb; c < ce; ++c)
                for (int64_t r = rb; r < re; ++r)
                  y[c * N + r] = tk.vec_dot(K, w.data + r * w.row_bytes, act + c * act_row);
            }
          }
        }
      }
      if (bias) {
        for (int64_t c = 0; c < n; ++c)
          for (int64_t r = r0; r < r1; ++r) y[c * N + r] += bias[r];
      }
    };
    // Contiguous row ranges, one per thread: each thread streams one long run of weights (smaller chunks
    // handed out dynamically measured 10-20% slower, the prefetchers restarting at every chunk).
    const int tr = pk ? kernels::kPackRows : tk.dot_tile ? tk.tile_rows : 1;
    auto work = [&](int ith, int nth) {
      const int64_t n_tiles = (N + tr - 1) / tr;
      const int64_t per = (n_tiles + nth - 1) / nth;
      const int64_t r0 = std::min<int64_t>(N, ith * per * tr),
                    r1 = std::min<int64_t>(N, (ith + 1) * per * tr);
      if (r0 < r1) rows(r0, r1);
    };
    // Small products are not worth waking the pool (tiny models, or a busy machine).
    if (N * K * n < kMinParallelWork)
      rows(0, N);
    else
      pool_.run(work);
  }

  void rope(float* x, int64_t n_tokens, int n_heads, int head_dim, const int32_t* pos,
            const RopeParams& p) override {
    const int n_rot = p.n_rot;
    const int half = n_rot / 2;
    const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(n_rot));
    float corr_lo = 0, corr_hi = 0;
    if (p.ext_factor != 0.0f) {
      auto corr_dim = [&](float n_r) {
        return n_rot * std::log(static_cast<float>(p.n_ctx_orig) / (n_r * 2.0f * static_cast<float>(M_PI))) /
               (2.0f * std::log(p.freq_base));
      };
      corr_lo = std::max(0.0f, std::floor(corr_dim(p.beta_fast)));
      corr_hi = std::min(static_cast<float>(n_rot - 1), std::ceil(corr_dim(p.beta_slow)));
    }
    if (cs_.size() < static_cast<size_t>(n_rot)) cs_.resize(n_rot);
    for (int64_t t = 0; t < n_tokens; ++t) {
      // cos/sin for this position, then apply to every head.
      float theta = static_cast<float>(pos[t]);
      for (int i = 0; i < half; ++i) {
        float th_extrap = theta;
        if (p.freq_factors) th_extrap /= p.freq_factors[i];
        const float th_interp = p.freq_scale * th_extrap;
        float th = th_interp, mscale = p.attn_factor;
        if (p.ext_factor != 0.0f) {
          const float y = (static_cast<float>(i) - corr_lo) / std::max(0.001f, corr_hi - corr_lo);
          const float ramp = (1.0f - std::min(1.0f, std::max(0.0f, y))) * p.ext_factor;
          th = th_interp * (1 - ramp) + th_extrap * ramp;
          mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
        }
        cs_[2 * i] = std::cos(th) * mscale;
        cs_[2 * i + 1] = std::sin(th) * mscale;
        theta *= theta_scale;
      }
      float* row = x + t * static_cast<int64_t>(n_heads) * head_dim;
      for (int h = 0; h < n_heads; ++h) {
        float* v = row + h * head_dim;
        for (int i = 0; i < half; ++i) {
          const int a = p.style == RopeStyle::Normal ? 2 * i : i;
          const int b = p.style == RopeStyle::Normal ? 2 * i + 1 : i + half;
          const float c = cs_[2 * i], s = cs_[2 * i + 1];
          const float x0 = v[a], x1 = v[b];
          v[a] = x0 * c - x1 * s;
          v[b] = x0 * s + x1 * c;
        }
      }
    }
  }

  void kv_store(const KvLayer& kv, const float* k, const float* v, int64_t n_tokens,
                const int64_t* cells) override {
    const int64_t hd = kv.head_dim;
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t h = 0; h < kv.kv_dim / hd; ++h) {
        uint16_t* kd = kv.k + kv.offset(cells[t], h);
        uint16_t* vd = kv.v + kv.offset(cells[t], h);
        const float* ks = k + t * kv.kv_dim + h * hd;
        const float* vs = v + t * kv.kv_dim + h * hd;
        for (int64_t i = 0; i < hd; ++i) {
          kd[i] = f32_to_fp16(ks[i]);
          vd[i] = f32_to_fp16(vs[i]);
        }
      }
    }
  }

  void attention(const KvLayer& kv, const AttnBatch& b, const float* q, float* out) override {
    const int hd = b.head_dim;
    const int group = b.n_head / b.n_head_kv;
    // One job: up to 4 query heads of one token that share a KV head, so each key and value is
    // converted once for all of them (grouped-query attention); smaller groups when that leaves too few
    // jobs for the threads (one sequence of a model with few KV heads). Grouping never changes results.
    const int64_t nth = pool_.size();
    auto n_jobs = [&](int g) {
      return static_cast<int64_t>(b.n_tokens) * b.n_head_kv * ((group + g - 1) / g);
    };
    int qg = std::min(4, group);
    while (qg > 1 && n_jobs(qg) < 2 * nth) qg = (qg + 1) / 2;
    const int subs = (group + qg - 1) / qg;
    const int64_t q_stride = static_cast<int64_t>(b.n_head) * hd;
    const int64_t jobs = static_cast<int64_t>(b.n_tokens) * b.n_head_kv * subs;
    int64_t cells = 0;
    for (int t = 0; t < b.n_tokens; ++t) cells += b.n_cells[t];
    auto work = [&](int ith, int nth) {
      auto& sc = scratch_[ith];
      for (int64_t j = ith; j < jobs; j += nth) {
        const int64_t t = j / (static_cast<int64_t>(b.n_head_kv) * subs);
        const int hk = static_cast<int>(j / subs % b.n_head_kv);
        const int h0 = hk * group + static_cast<int>(j % subs) * qg;
        const int nq = std::min(qg, (hk + 1) * group - h0);
        const float* qv = q + t * q_stride + static_cast<int64_t>(h0) * hd;
        float* o = out + t * q_stride + static_cast<int64_t>(h0) * hd;
        const int64_t c0 = b.cell_begin[t], nc = b.n_cells[t];
        if (static_cast<int64_t>(sc.size()) < nq * nc) sc.resize(nq * nc);
        const int64_t koff = kv.offset(c0, hk);  // the token's cells lie in one block: rows hd apart
        k_.attn_scores_f16(hd, nc, kv.k + koff, hd, qv, nq, hd, sc.data(), nc);
        for (int i = 0; i < nq; ++i) {
          float* s = sc.data() + i * nc;
          const float sum = k_.exp_shifted(nc, s, b.scale);
          const float inv = sum > 0 ? 1.0f / sum : 0.0f;
          for (int64_t c = 0; c < nc; ++c) s[c] *= inv;
        }
        std::fill(o, o + static_cast<int64_t>(nq) * hd, 0.0f);
        k_.attn_mix_f16(hd, nc, kv.v + koff, hd, sc.data(), nq, nc, o, hd);
      }
    };
    if (cells * b.n_head * hd < kMinParallelWork)
      work(0, 1);
    else
      pool_.run(work);
  }

  void swiglu(float* gate, const float* up, int64_t n) override {
    auto part = [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const float g = gate[i];
        gate[i] = g / (1.0f + std::exp(-g)) * up[i];
      }
    };
    // Element-wise, so splitting changes no result; worth the pool from a few thousand exponentials.
    if (n < (1 << 13))
      part(0, n);
    else
      pool_.parallel_for(n, part);
  }

  void add(float* y, const float* x, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
  }

 private:
  ThreadPool pool_;
  const kernels::KernelTable& k_;
  std::vector<std::vector<float>> scratch_;
  std::vector<uint8_t> act_buf_;
  std::unordered_map<const uint8_t*, Packed> packed_;  // by the original weight's data
  uint64_t packed_bytes_ = 0;
  std::vector<float> cs_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int n_threads) { return std::make_unique<CpuBackend>(n_threads); }

}  // namespace hearth::backend
