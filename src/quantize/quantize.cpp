#include "quantize/quantize.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "base/error.h"
#include "base/log.h"
#include "base/thread_pool.h"

namespace hearth::quantize {

namespace {

using tensor::Type;

// Dimensions up to the last one that is not 1 (a [256, 1] tensor is a vector).
int effective_dims(const gguf::TensorInfo& t) {
  int n = 1;
  for (int i = 1; i < 4; ++i)
    if (t.ne[i] > 1) n = i + 1;
  return n;
}

int64_t layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  int64_t v = 0;
  size_t i = 4;
  for (; i < name.size() && i < 14 && name[i] >= '0' && name[i] <= '9'; ++i) v = v * 10 + (name[i] - '0');
  return i == 4 ? -1 : v;
}

// An integer metadata value that may also be a per-layer array (its first element); `def` if absent.
int64_t first_int(const gguf::File& f, const std::string& key, int64_t def) {
  const gguf::Value* v = f.find(key);
  if (!v) return def;
  if (v->is_array()) return v->ints.empty() ? def : v->ints.front();
  return v->as_int(key);
}

// A float, or a block type hearth can convert to floats.
bool convertible(Type t) {
  const auto& ti = tensor::type_info(t);
  if (t == Type::F32 || t == Type::F16 || t == Type::BF16) return true;
  return ti.quantized && ti.supported;
}

bool is_attention_wv(const std::string& n) {
  return n.find("attn_v.weight") != std::string::npos || n.find("attn_qkv.weight") != std::string::npos ||
         n.find("attn_kv_b.weight") != std::string::npos;
}

struct ModelInfo {
  std::string arch;
  int64_t n_layer = 0, n_gqa = 1, n_expert = 0;
  bool has_output = false;
  std::unordered_map<std::string, int64_t> attn_index;  // attn_v-like tensor -> position in layer order
  int64_t n_attention_wv = 0;
};

ModelInfo model_info(const gguf::File& f) {
  ModelInfo mi;
  mi.arch = f.get_string("general.architecture", "");
  int64_t max_layer = -1;
  std::vector<std::pair<int64_t, std::string>> wv;
  for (const auto& t : f.tensors()) {
    max_layer = std::max(max_layer, layer_of(t.name));
    if (t.name == "output.weight") mi.has_output = true;
    if (is_attention_wv(t.name)) wv.emplace_back(layer_of(t.name), t.name);
  }
  const std::string a = mi.arch + ".";
  mi.n_layer = mi.arch.empty() ? 0 : first_int(f, a + "block_count", 0);
  if (mi.n_layer <= 0 || mi.n_layer > (int64_t{1} << 20)) mi.n_layer = max_layer + 1;
  if (!mi.arch.empty()) {
    const int64_t n_head = first_int(f, a + "attention.head_count", 0);
    const int64_t n_head_kv = first_int(f, a + "attention.head_count_kv", n_head);
    mi.n_gqa = n_head_kv > 0 && n_head > 0 ? n_head / n_head_kv : 0;
    mi.n_expert = std::max<int64_t>(0, first_int(f, a + "expert_count", 0));
  }
  std::sort(wv.begin(), wv.end());
  for (size_t i = 0; i < wv.size(); ++i) mi.attn_index[wv[i].second] = static_cast<int64_t>(i);
  mi.n_attention_wv = static_cast<int64_t>(wv.size());
  return mi;
}

// Checks the importance data of a tensor; returns it when it applies (null when absent or ignored).
const std::vector<float>* imatrix_for(const Imatrix* im, const PlannedTensor& p) {
  if (!im || !p.convert || !p.quantizable || !tensor::type_info(p.to).quantized) return nullptr;
  const std::vector<float>* v = im->find(p.name);
  if (!v) return nullptr;
  const int64_t n_mat = p.ne.size() > 2 ? p.ne[2] : 1;
  if (static_cast<int64_t>(v->size()) != p.ne[0] * n_mat) {
    // Token embeddings are looked up, not multiplied: a mismatch there is harmless.
    if (p.name == "token_embd.weight") {
      log::warn("ignoring the importance data of token_embd.weight ({} values for rows of {})", v->size(),
                p.ne[0]);
      return nullptr;
    }
    fail(
        "the importance matrix has {} values for tensor {}, which needs {} ({} columns x {} matrices): was "
        "it "
        "computed for another model?",
        v->size(), p.name, p.ne[0] * n_mat, p.ne[0], n_mat);
  }
  return v;
}

// Input pages already converted are not needed again: drop them from the process (they are a read-only
// mapping of the file) so that memory stays bounded however large the model.
void release_pages(const uint8_t* p, uint64_t n) {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t begin = reinterpret_cast<uintptr_t>(p) / page * page;
  const uint64_t end = reinterpret_cast<uintptr_t>(p) + n;
  if (n > 0) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

bool all_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

struct Worker {
  std::vector<float> src, deq;
  ErrorStats err;
  std::string error;
  int64_t bad_row = -1;
};

// Converts one tensor in steps of rows and streams it to the writer.
void convert_tensor(const gguf::TensorInfo& t, const PlannedTensor& p, const std::vector<float>* imat,
                    ThreadPool& pool, std::vector<Worker>& workers, const Options& opt, gguf::Writer& w,
                    ErrorStats* stats) {
  const int64_t ncols = t.ne[0], nrows = t.n_rows(), ne1 = t.ne[1], ne2 = t.ne[2];
  const uint64_t in_row = tensor::row_size(p.from, ncols), out_row = tensor::row_size(p.to, ncols);
  const int64_t step = std::clamp<int64_t>(static_cast<int64_t>(opt.step_elements) / ncols, 1, nrows);
  std::vector<uint8_t> out(static_cast<size_t>(step) * out_row);
  for (auto& wk : workers) {
    wk.src.resize(static_cast<size_t>(ncols));
    wk.deq.resize(static_cast<size_t>(ncols));
    wk.err = {};
  }
  const uint8_t* base = t.data;
  for (int64_t r0 = 0; r0 < nrows; r0 += step) {
    if (opt.cancelled && opt.cancelled()) fail("quantization cancelled");
    const int64_t r1 = std::min(nrows, r0 + step);
    std::atomic<int64_t> next{r0};
    std::atomic<bool> failed{false};
    pool.run([&](int ith, int) {
      Worker& wk = workers[static_cast<size_t>(ith)];
      try {
        for (;;) {
          const int64_t r = next.fetch_add(1, std::memory_order_relaxed);
          if (r >= r1 || failed.load(std::memory_order_relaxed)) break;
          float* src = wk.src.data();
          tensor::dequantize_row(p.from, base + static_cast<uint64_t>(r) * in_row, src, ncols);
          if (!all_finite(src, ncols)) {
            wk.bad_row = r;
            failed.store(true);
            break;
          }
          const float* qw = imat ? imat->data() + ((r / ne1) % ne2) * ncols : nullptr;
          uint8_t* dst = out.data() + static_cast<uint64_t>(r - r0) * out_row;
          tensor::quantize_row(p.to, src, dst, ncols, qw);
          tensor::dequantize_row(p.to, dst, wk.deq.data(), ncols);
          if (qw && !all_finite(wk.deq.data(), ncols)) {
            // Degenerate importance data (e.g. all zero in a block): quantize this row unweighted.
            tensor::quantize_row(p.to, src, dst, ncols, nullptr);
            tensor::dequantize_row(p.to, dst, wk.deq.data(), ncols);
          }
          double e2 = 0, s2 = 0;
          for (int64_t i = 0; i < ncols; ++i) {
            const double d = static_cast<double>(wk.deq[i]) - src[i];
            e2 += d * d;
            s2 += static_cast<double>(src[i]) * src[i];
          }
          wk.err.err2 += e2;
          wk.err.src2 += s2;
        }
      } catch (const std::exception& e) {
        wk.error = e.what();
        failed.store(true);
      }
    });
    if (failed.load()) {
      for (auto& wk : workers) {
        if (!wk.error.empty()) fail("tensor {}: {}", p.name, wk.error);
        if (wk.bad_row >= 0)
          fail("tensor {} holds a non-finite value (NaN or Inf) in row {}: cannot quantize it", p.name,
               wk.bad_row);
      }
    }
    w.write_data(out.data(), static_cast<uint64_t>(r1 - r0) * out_row);
    release_pages(base + static_cast<uint64_t>(r0) * in_row, static_cast<uint64_t>(r1 - r0) * in_row);
  }
  stats->tensors = 1;
  stats->elements = t.n_elements();
  for (auto& wk : workers) stats->add(wk.err);
}

}  // namespace

double ErrorStats::rel_rms() const { return src2 > 0 ? std::sqrt(err2 / src2) : (err2 > 0 ? INFINITY : 0.0); }

void ErrorStats::add(const ErrorStats& o) {
  tensors += o.tensors;
  elements += o.elements;
  err2 += o.err2;
  src2 += o.src2;
}

Plan make_plan(const gguf::File& in, const std::string& mix, bool has_imatrix) {
  Plan plan;
  plan.policy = Policy::for_mix(mix);
  const ModelInfo mi = model_info(in);
  for (const auto& t : in.tensors()) {
    PlannedTensor p;
    p.name = t.name;
    p.ne.assign(t.ne, t.ne + std::max(1, t.n_dims));
    p.from = p.to = t.type;
    p.quantizable = is_quantizable(t.name, effective_dims(t));
    if (p.quantizable && !convertible(t.type)) {
      p.quantizable = false;
      ++plan.n_unconvertible;
    }
    if (p.quantizable) {
      ++plan.n_quantizable;
      TensorContext tc;
      tc.name = t.name;
      tc.n_layer = mi.n_layer;
      tc.has_output = mi.has_output;
      tc.n_gqa = mi.n_gqa;
      tc.n_expert = mi.n_expert;
      tc.has_imatrix = has_imatrix;
      tc.arch = mi.arch;
      if (auto it = mi.attn_index.find(t.name); it != mi.attn_index.end()) tc.i_attention_wv = it->second;
      tc.n_attention_wv = mi.n_attention_wv;
      p.to = plan.policy.type_for(tc, t.ne[0], &p.fallback);
      plan.n_fallback += p.fallback;
      p.convert = p.to != p.from;
      if (p.convert && tensor::type_info(p.from).quantized) plan.requantize = true;
    }
    p.bytes_in = t.nbytes;
    p.bytes_out = p.convert ? tensor::row_size(p.to, t.ne[0]) * static_cast<uint64_t>(t.n_rows()) : t.nbytes;
    plan.bytes_in += p.bytes_in;
    plan.bytes_out += p.bytes_out;
    plan.n_params += t.n_elements();
    plan.tensors.push_back(std::move(p));
  }
  return plan;
}

Result quantize_file(const std::string& in_path, const std::string& out_path, const std::string& mix,
                     const Options& opt) {
  auto in = gguf::File::open(in_path);
  if (!in->has_data()) fail("{}: the tensor data is incomplete", in_path);
  Result res;
  res.plan = make_plan(*in, mix, opt.imatrix != nullptr);
  const Plan& plan = res.plan;
  const auto& tensors = in->tensors();
  if (plan.requantize)
    log::warn(
        "{} is already quantized: requantizing dequantizes and quantizes again, which loses more "
        "quality than quantizing from F32, F16 or BF16",
        in_path);
  if (plan.n_fallback > 0)
    log::warn("{} of {} tensors have rows that do not fit the blocks of their type and use a fallback type",
              plan.n_fallback, plan.n_quantizable);

  if (plan.n_unconvertible > 0)
    log::warn("{} weights have a type hearth cannot convert and are copied unchanged", plan.n_unconvertible);

  // Importance data is validated for every tensor before anything is written.
  std::vector<const std::vector<float>*> imat(tensors.size(), nullptr);
  int n_imat = 0, n_quant = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    imat[i] = imatrix_for(opt.imatrix, plan.tensors[i]);
    n_imat += imat[i] != nullptr;
    n_quant += plan.tensors[i].convert && tensor::type_info(plan.tensors[i].to).quantized;
  }
  if (opt.imatrix && n_imat == 0 && n_quant > 0)
    log::warn("the importance matrix has no entry for any tensor of {}: was it computed for another model?",
              in_path);

  gguf::Writer w;
  for (const auto& [k, v] : in->metadata()) {
    if (k.rfind("split.", 0) == 0) continue;  // the output is one file
    if (k == "general.alignment") {
      w.set(k, gguf::Value::u32(static_cast<uint32_t>(v.as_int(k))));
      continue;
    }
    w.set(k, v);
  }
  w.set("general.quantization_version", gguf::Value::u32(2));
  w.set("general.file_type", gguf::Value::u32(plan.policy.file_type()));
  for (const auto& p : plan.tensors) w.add_tensor(p.name, p.to, p.ne);

  const int n_threads = std::clamp(opt.threads > 0 ? opt.threads : physical_cores(), 1, 256);
  ThreadPool pool(n_threads);
  std::vector<Worker> workers(static_cast<size_t>(n_threads));

  w.begin(out_path);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    const auto& p = plan.tensors[i];
    TensorReport rep;
    rep.index = static_cast<int>(i + 1);
    rep.count = static_cast<int>(tensors.size());
    rep.tensor = &p;
    if (!p.convert) {
      constexpr uint64_t kPiece = uint64_t{64} << 20;
      for (uint64_t off = 0; off < t.nbytes; off += kPiece) {
        if (opt.cancelled && opt.cancelled()) fail("quantization cancelled");
        w.write_data(t.data + off, std::min(kPiece, t.nbytes - off));
        release_pages(t.data + off, std::min(kPiece, t.nbytes - off));
      }
    } else {
      convert_tensor(t, p, imat[i], pool, workers, opt, w, &rep.error);
      rep.imatrix_used = imat[i] != nullptr;
      res.imatrix_tensors += rep.imatrix_used;
      res.by_type[p.to].add(rep.error);
      res.total.add(rep.error);
    }
    if (opt.on_tensor) opt.on_tensor(rep);
  }
  if (opt.cancelled && opt.cancelled()) fail("quantization cancelled");
  w.finish();
  res.file_in = in->file_size();
  std::error_code ec;
  res.file_out = std::filesystem::file_size(out_path, ec);
  return res;
}

}  // namespace hearth::quantize
