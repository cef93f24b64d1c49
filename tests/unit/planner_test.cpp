// runtime planner: synthetic GGUF headers of real shapes (Llama 3.1 8B / 70B, a tied-output Qwen2) typed as
// the Q4_K_M mix types them, with no tensor data, planned against table hardware; the hardware table's
// matching; the memory parser.
#include "runtime/planner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "gguf/gguf.h"
#include "model/model.h"
#include "quantize/policy.h"
#include "runtime/hw_probe.h"
#include "runtime/hw_table.h"

namespace fs = std::filesystem;
using namespace hearth;
using runtime::CacheType;
using runtime::DeviceSpec;
using runtime::Plan;
using runtime::PlanRequest;

namespace {

struct Shape {
  const char* arch;
  int64_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx_train;
  bool tied;
};
constexpr Shape kLlama8B{"llama", 4096, 32, 32, 8, 14336, 128256, 131072, false};
constexpr Shape kLlama70B{"llama", 8192, 80, 64, 8, 28672, 128256, 131072, false};
constexpr Shape kQwen2_7B{"qwen2", 3584, 28, 28, 4, 18944, 152064, 32768, false};
constexpr Shape kQwen2_05B{"qwen2", 896, 24, 14, 2, 4864, 151936, 32768, true};
constexpr Shape kLlama2_7B{"llama", 4096, 32, 32, 32, 11008, 32000, 4096, false};
constexpr Shape kLlama2_13B{"llama", 5120, 40, 40, 40, 13824, 32000, 4096, false};

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("hearth-planner-" + std::to_string(::getpid()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Writes the header of a model of this shape quantized as `mix`, without its tensor data: the writer
// writes the header when it begins, and that prefix of its temporary file is kept.
std::string write_header(const fs::path& dir, const std::string& name, const Shape& s,
                         const std::string& mix) {
  model::HParams hp;
  hp.arch = s.arch;
  hp.n_embd = s.n_embd;
  hp.n_layer = s.n_layer;
  hp.n_head = s.n_head;
  hp.n_head_kv = s.n_head_kv;
  hp.n_ff = s.n_ff;
  hp.n_vocab = s.n_vocab;
  hp.head_dim = s.n_embd / s.n_head;
  hp.rope.n_rot = static_cast<int>(hp.head_dim);
  gguf::Writer w;
  const std::string a = std::string(s.arch) + ".";
  w.set("general.architecture", gguf::Value::str(s.arch));
  w.set("general.file_type", gguf::Value::u32(quantize::Policy::for_mix(mix).file_type()));
  w.set(a + "context_length", gguf::Value::u32(static_cast<uint32_t>(s.n_ctx_train)));
  w.set(a + "embedding_length", gguf::Value::u32(static_cast<uint32_t>(s.n_embd)));
  w.set(a + "block_count", gguf::Value::u32(static_cast<uint32_t>(s.n_layer)));
  w.set(a + "feed_forward_length", gguf::Value::u32(static_cast<uint32_t>(s.n_ff)));
  w.set(a + "attention.head_count", gguf::Value::u32(static_cast<uint32_t>(s.n_head)));
  w.set(a + "attention.head_count_kv", gguf::Value::u32(static_cast<uint32_t>(s.n_head_kv)));
  w.set(a + "rope.freq_base", gguf::Value::f32(500000.0f));
  const auto pol = quantize::Policy::for_mix(mix);
  for (const auto& t : model::tensor_specs(hp)) {
    if (t.optional && (t.name == "rope_freqs.weight" || (s.tied && t.name == "output.weight"))) continue;
    if (t.is_vector) {
      w.add_tensor(t.name, tensor::Type::F32, t.shape);
      continue;
    }
    quantize::TensorContext tc;
    tc.name = t.name;
    tc.n_layer = s.n_layer;
    tc.has_output = !s.tied;
    tc.n_gqa = s.n_head / s.n_head_kv;
    tc.arch = s.arch;
    w.add_tensor(t.name, pol.type_for(tc, t.shape[0]), t.shape);
  }
  const fs::path path = dir / (name + ".gguf");
  w.begin(path.string());
  bool copied = false;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind(name + ".gguf.tmp-", 0) == 0) {
      fs::copy_file(e.path(), path, fs::copy_options::overwrite_existing);
      copied = true;
    }
  }
  w.abort();
  EXPECT_TRUE(copied) << "the writer's temporary file was not found";
  return path.string();
}

class PlannerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto cost = [](const std::string& p) {
      return runtime::model_cost(*gguf::File::open(p, {.header_only = true}));
    };
    costs_ = new std::map<std::string, runtime::ModelCost>();
    (*costs_)["8b"] = cost(write_header(dir_->path(), "llama8b", kLlama8B, "Q4_K_M"));
    (*costs_)["70b"] = cost(write_header(dir_->path(), "llama70b", kLlama70B, "Q4_K_M"));
    (*costs_)["qwen7b"] = cost(write_header(dir_->path(), "qwen7b", kQwen2_7B, "Q4_K_M"));
    (*costs_)["qwen05b"] = cost(write_header(dir_->path(), "qwen05b", kQwen2_05B, "Q8_0"));
    (*costs_)["7b"] = cost(write_header(dir_->path(), "llama2-7b", kLlama2_7B, "Q4_K_M"));
    (*costs_)["13b"] = cost(write_header(dir_->path(), "llama2-13b", kLlama2_13B, "Q4_K_M"));
  }
  static void TearDownTestSuite() {
    delete costs_;
    delete dir_;
  }
  static const runtime::ModelCost& cost(const std::string& k) { return costs_->at(k); }

  // A desktop: 64 GiB of RAM at 60 GB/s, 200 GFLOP/s of CPU matmul.
  static DeviceSpec desktop_cpu(uint64_t ram = 64ull << 30) {
    runtime::CpuInfo c;
    c.model = "test CPU";
    c.physical_cores = 8;
    return runtime::cpu_device(c, ram, 60e9, 200e9);
  }
  static PlanRequest request(const char* gpu, int64_t ctx = 4096) {
    PlanRequest r;
    r.n_ctx = ctx;
    if (gpu) r.gpu = runtime::gpu_from_table(runtime::find_hardware(gpu));
    r.cpu = desktop_cpu();
    return r;
  }

  static TempDir* dir_;
  static std::map<std::string, runtime::ModelCost>* costs_;
};
TempDir* PlannerTest::dir_ = nullptr;
std::map<std::string, runtime::ModelCost>* PlannerTest::costs_ = nullptr;

TEST_F(PlannerTest, HeadersHaveRealisticSizes) {
  // Published Q4_K_M files: Llama 3.1 8B 4.92 GB, 70B 42.5 GB.
  EXPECT_NEAR(cost("8b").total_bytes / 1e9, 4.92, 0.3);
  EXPECT_NEAR(cost("70b").total_bytes / 1e9, 42.5, 2.0);
  EXPECT_NEAR(cost("8b").n_params / 1e9, 8.03, 0.05);
  EXPECT_EQ(cost("8b").layer_bytes.size(), 32u);
  EXPECT_FALSE(cost("8b").tied_output);
  EXPECT_TRUE(cost("8b").quantized);
  EXPECT_TRUE(cost("qwen05b").tied_output);
  // Every byte is accounted for once.
  for (const char* k : {"8b", "70b", "qwen7b"}) {
    const auto& c = cost(k);
    uint64_t sum = c.embd_bytes + c.output_bytes + c.other_bytes;
    for (auto b : c.layer_bytes) sum += b;
    EXPECT_EQ(sum, c.total_bytes) << k;
  }
}

TEST_F(PlannerTest, EightBFitsOnA12GBGpu) {
  const Plan p = runtime::plan(cost("8b"), request("RTX 3060 12GB"));
  EXPECT_TRUE(p.fits) << p.problem;
  EXPECT_EQ(p.gpu_layers, 32);
  EXPECT_EQ(p.n_layer, 32);
  EXPECT_TRUE(p.output_on_gpu);
  EXPECT_GE(p.max_ctx_full_gpu, 4096);
  EXPECT_LT(p.gpu.total(), 12ull << 30);
  // KV cache: 32 layers x 2 x 1024 x 4096 tokens x 2 bytes = 512 MiB.
  EXPECT_EQ(p.gpu.kv_cache, 512ull << 20);
  EXPECT_EQ(p.cpu.kv_cache, 0u);
  // The embeddings stay in system RAM.
  EXPECT_GE(p.cpu.weights, cost("8b").embd_bytes);
  // Known: ~50-60 tok/s on an RTX 3060 12GB.
  EXPECT_GT(p.tg_tok_s, 35);
  EXPECT_LT(p.tg_tok_s, 80);
  EXPECT_LT(p.tg_tok_s_full_ctx, p.tg_tok_s);
  EXPECT_GT(p.pp_tok_s, 500);
  EXPECT_GT(p.pp_tok_s, 10 * p.tg_tok_s);
}

TEST_F(PlannerTest, SeventyBOnA12GBGpuIsAMinorityOfLayers) {
  const Plan p = runtime::plan(cost("70b"), request("RTX 3060 12GB"));
  EXPECT_TRUE(p.fits) << p.problem;
  EXPECT_GT(p.gpu_layers, 5);
  EXPECT_LT(p.gpu_layers, 40);
  EXPECT_EQ(p.n_layer, 80);
  EXPECT_EQ(p.max_ctx_full_gpu, 0);
  EXPECT_LE(p.gpu.total(), p.gpu_capacity);
  EXPECT_GT(p.gpu.total(), p.gpu_capacity * 8 / 10);  // the GPU is used, not left mostly empty
  EXPECT_GT(p.tg_tok_s, 0.5);
  EXPECT_LT(p.tg_tok_s, 5);
  // The same model on the CPU alone is slower.
  PlanRequest cpu_only = request(nullptr);
  const Plan c = runtime::plan(cost("70b"), cpu_only);
  EXPECT_EQ(c.gpu_layers, 0);
  EXPECT_LT(c.tg_tok_s, p.tg_tok_s);
  EXPECT_NEAR(c.tg_tok_s, 60e9 * runtime::kCpuBandwidthEfficiency / cost("70b").total_bytes, 0.2);
}

TEST_F(PlannerTest, MoreVramNeverMeansFewerLayers) {
  for (const char* k : {"8b", "70b", "qwen7b", "qwen05b"}) {
    int prev_layers = -1;
    int64_t prev_max = -1;
    double prev_tg = 0;
    for (double gib = 1; gib <= 64; gib += 0.5) {
      PlanRequest r = request(nullptr);
      r.gpu = runtime::gpu_from_numbers(static_cast<uint64_t>(gib * (1ull << 30)), 400e9);
      const Plan p = runtime::plan(cost(k), r);
      EXPECT_GE(p.gpu_layers, prev_layers) << k << " at " << gib << " GiB";
      EXPECT_GE(p.max_ctx_full_gpu, prev_max) << k << " at " << gib << " GiB";
      EXPECT_GE(p.tg_tok_s, prev_tg * 0.999) << k << " at " << gib << " GiB";
      prev_layers = p.gpu_layers;
      prev_max = p.max_ctx_full_gpu;
      prev_tg = p.tg_tok_s;
    }
    EXPECT_EQ(prev_layers, cost(k).hp.n_layer) << k << ": 64 GiB holds every layer";
  }
}

TEST_F(PlannerTest, LongerContextNeverMeansMoreLayers) {
  for (const char* gpu : {"RTX 4060 8GB", "RTX 3060 12GB", "RTX 4090", "RX 7900 XTX"}) {
    for (const char* k : {"8b", "70b", "qwen7b"}) {
      int prev = 1 << 30;
      double prev_tg = 1e30;
      for (int64_t ctx = 256; ctx <= 131072; ctx *= 2) {
        const Plan p = runtime::plan(cost(k), request(gpu, ctx));
        EXPECT_LE(p.gpu_layers, prev) << k << " on " << gpu << " at " << ctx;
        EXPECT_LE(p.tg_tok_s, prev_tg * 1.001) << k << " on " << gpu << " at " << ctx;
        prev = p.gpu_layers;
        prev_tg = p.tg_tok_s;
      }
    }
  }
}

TEST_F(PlannerTest, MaxContextFullGpuMatchesTheLayerCount) {
  for (const char* gpu : {"RTX 4060 8GB", "RTX 3060 12GB", "RTX 4060 Ti 16GB", "RTX 4090", "RTX 5090"}) {
    for (const char* k : {"8b", "qwen7b", "qwen05b", "70b"}) {
      const auto& c = cost(k);
      const Plan p = runtime::plan(c, request(gpu));
      const int64_t m = p.max_ctx_full_gpu;
      if (m == 0) {
        EXPECT_LT(runtime::plan(c, request(gpu, 1)).gpu_layers, c.hp.n_layer) << k << " on " << gpu;
        continue;
      }
      EXPECT_EQ(runtime::plan(c, request(gpu, m)).gpu_layers, c.hp.n_layer) << k << " on " << gpu;
      if (m < c.hp.n_ctx_train) {
        EXPECT_LT(runtime::plan(c, request(gpu, m + 1)).gpu_layers, c.hp.n_layer) << k << " on " << gpu;
      }
      EXPECT_EQ(p.gpu_layers == c.hp.n_layer, m >= 4096) << k << " on " << gpu;
    }
  }
}

TEST_F(PlannerTest, SmallerKvCacheTypesFitMore) {
  PlanRequest r = request("RTX 3060 12GB", 32768);
  const Plan f16 = runtime::plan(cost("70b"), r);
  r.cache_type = CacheType::Q8_0;
  const Plan q8 = runtime::plan(cost("70b"), r);
  r.cache_type = CacheType::Q4_0;
  const Plan q4 = runtime::plan(cost("70b"), r);
  EXPECT_GE(q8.gpu_layers, f16.gpu_layers);
  EXPECT_GE(q4.gpu_layers, q8.gpu_layers);
  EXPECT_GT(q4.gpu_layers, f16.gpu_layers);
  const auto& hp = cost("8b").hp;
  EXPECT_EQ(runtime::kv_bytes_per_layer(hp, 1024, CacheType::F16), 2ull * 1024 * 1024 * 2);
  EXPECT_EQ(runtime::kv_bytes_per_layer(hp, 1024, CacheType::Q8_0), 2ull * 1024 * 1024 * 34 / 32);
  EXPECT_EQ(runtime::kv_bytes_per_layer(hp, 1024, CacheType::Q4_0), 2ull * 1024 * 1024 * 18 / 32);
  EXPECT_EQ(runtime::cache_type_from_name("Q8_0"), CacheType::Q8_0);
  EXPECT_THROW(runtime::cache_type_from_name("q5_1"), Error);
}

TEST_F(PlannerTest, ComputeBuffersFollowTheBatchAndContext) {
  const auto& hp = cost("8b").hp;
  // Scores dominate at long context: n_head x n_ctx x 4 bytes per batch row.
  const uint64_t a = runtime::compute_buffer_bytes(hp, 4096, 512),
                 b = runtime::compute_buffer_bytes(hp, 8192, 512);
  EXPECT_EQ(b - a, 32ull * 4096 * 512 * 4);
  EXPECT_LT(runtime::compute_buffer_bytes(hp, 4096, 256), a);
  EXPECT_EQ(runtime::logits_buffer_bytes(hp, 1), 128256ull * 4);
}

TEST_F(PlannerTest, ForcedLayers) {
  PlanRequest r = request("RTX 3060 12GB");
  r.gpu_layers = 10;
  Plan p = runtime::plan(cost("70b"), r);
  EXPECT_EQ(p.gpu_layers, 10);
  EXPECT_TRUE(p.fits);
  r.gpu_layers = 80;
  p = runtime::plan(cost("70b"), r);
  EXPECT_EQ(p.gpu_layers, 80);
  EXPECT_FALSE(p.fits);
  EXPECT_NE(p.problem.find("GPU"), std::string::npos) << p.problem;
  r.gpu_layers = 1000;  // clamped
  EXPECT_EQ(runtime::plan(cost("8b"), r).gpu_layers, 32);
  r.gpu_layers = 0;
  p = runtime::plan(cost("8b"), r);
  EXPECT_EQ(p.gpu_layers, 0);
  EXPECT_FALSE(p.output_on_gpu);
  EXPECT_EQ(p.gpu.total(), 0u);
}

TEST_F(PlannerTest, DoesNotFitInSmallRam) {
  PlanRequest r = request(nullptr);
  r.cpu = desktop_cpu(16ull << 30);
  const Plan p = runtime::plan(cost("70b"), r);
  EXPECT_FALSE(p.fits);
  EXPECT_NE(p.problem.find("system RAM"), std::string::npos) << p.problem;
  EXPECT_EQ(p.max_ctx, 0);
  // With a 24 GB GPU as well it still does not fit.
  r.gpu = runtime::gpu_from_table(runtime::find_hardware("RTX 4090"));
  EXPECT_FALSE(runtime::plan(cost("70b"), r).fits);
  // 8B fits in 16 GiB on the CPU, and its largest context is bounded by the RAM.
  r.gpu.reset();
  const Plan e = runtime::plan(cost("8b"), r);
  EXPECT_TRUE(e.fits) << e.problem;
  EXPECT_GT(e.max_ctx, 4096);
  EXPECT_LT(e.max_ctx, 131072);
}

TEST_F(PlannerTest, TiedOutputIsCopiedToTheGpu) {
  const auto& c = cost("qwen05b");
  const Plan p = runtime::plan(c, request("RTX 3060 12GB"));
  EXPECT_EQ(p.gpu_layers, 24);
  EXPECT_GE(p.gpu.weights, c.embd_bytes);  // the output copy
  EXPECT_GE(p.cpu.weights, c.embd_bytes);  // the embeddings
  PlanRequest r = request(nullptr);
  const Plan cpu = runtime::plan(c, r);
  // On the CPU the output reads token_embd in place: the weights are counted once.
  EXPECT_LE(cpu.cpu.weights, c.total_bytes);
}

TEST_F(PlannerTest, AppleUnifiedMemorySharesTheRam) {
  PlanRequest r = request("M2 Max 64GB");
  ASSERT_TRUE(r.gpu);
  EXPECT_TRUE(r.gpu->unified);
  EXPECT_EQ(r.gpu->memory, 48ull << 30);
  r.cpu = desktop_cpu(58ull << 30);
  const Plan p = runtime::plan(cost("70b"), r);
  EXPECT_LE(p.cpu_capacity, (58ull << 30) - p.gpu.total());
  EXPECT_EQ(p.gpu_layers, 80);
  EXPECT_TRUE(p.fits) << p.problem;
}

TEST_F(PlannerTest, RejectsBadRequests) {
  PlanRequest r = request(nullptr);
  r.n_seq = 0;
  EXPECT_THROW(runtime::plan(cost("8b"), r), Error);
  r = request(nullptr);
  r.cpu.bandwidth = 0;
  EXPECT_THROW(runtime::plan(cost("8b"), r), Error);
  r = request(nullptr, 0);  // 0: the training context
  EXPECT_EQ(runtime::plan(cost("8b"), r).n_ctx, 131072);
}

TEST(PlannerFixture, PlansARealFile) {
  const std::string path = std::string(HEARTH_FIXTURES) + "/models/llama-s-Q4_K_M.gguf";
  if (!fs::exists(path)) GTEST_SKIP() << "no fixture " << path;
  auto f = gguf::File::open(path, {.header_only = true});
  PlanRequest r;
  r.n_ctx = 2048;
  runtime::CpuInfo ci;
  ci.model = "cpu";
  r.cpu = runtime::cpu_device(ci, 8ull << 30, 20e9, 50e9);
  const Plan p = runtime::plan(*f, r);
  EXPECT_TRUE(p.fits);
  EXPECT_EQ(p.n_layer, 4);
  EXPECT_EQ(p.gpu_layers, 0);
  uint64_t total = 0;
  for (auto& t : f->tensors()) total += t.nbytes;
  EXPECT_EQ(p.model.total_bytes, total);
  EXPECT_EQ(p.cpu.kv_cache, 4ull * 2 * 128 * 2048 * 2);  // 4 layers, kv_dim 128 (4 KV heads of 32)
  EXPECT_GT(p.tg_tok_s, 100);
}

TEST(HardwareTable, FindsCardsByLooseNames) {
  auto name = [](const char* q) { return runtime::find_hardware(q).spec->display(); };
  EXPECT_EQ(name("RTX 3060 12GB"), "NVIDIA GeForce RTX 3060 12GB");
  EXPECT_EQ(name("rtx3060"), "NVIDIA GeForce RTX 3060 12GB");
  EXPECT_EQ(name("geforce rtx 3060 8 gb"), "NVIDIA GeForce RTX 3060 8GB");
  EXPECT_EQ(name("4090"), "NVIDIA GeForce RTX 4090 24GB");
  EXPECT_EQ(name("RTX 4070"), "NVIDIA GeForce RTX 4070 12GB");
  EXPECT_EQ(name("4070 ti super"), "NVIDIA GeForce RTX 4070 Ti Super 16GB");
  EXPECT_EQ(name("4060ti 16gb"), "NVIDIA GeForce RTX 4060 Ti 16GB");
  EXPECT_EQ(name("Radeon RX 7900 XTX"), "AMD Radeon RX 7900 XTX 24GB");
  EXPECT_EQ(name("arc a770"), "Intel Arc A770 16GB");
  EXPECT_EQ(name("NVIDIA GeForce RTX 5090"), "NVIDIA GeForce RTX 5090 32GB");
  const auto m = runtime::find_hardware("Apple M2 Max 64GB");
  EXPECT_EQ(m.spec->kind, runtime::HwKind::Apple);
  EXPECT_EQ(m.memory_bytes, 64ull << 30);
  EXPECT_EQ(runtime::find_hardware("m4").spec->bandwidth_gbs, 120);
  const auto g = runtime::find_hardware("RTX 4090");
  EXPECT_EQ(g.memory_bytes, 24ull << 30);
  EXPECT_EQ(g.spec->bandwidth_gbs, 1008);
  EXPECT_EQ(runtime::find_hardware("ddr5-6000", true).spec->bandwidth_gbs, 96);
  EXPECT_FALSE(runtime::lookup_hardware("ddr5-6000").spec);  // not a GPU
}

TEST(HardwareTable, UnknownNamesListCloseMatches) {
  try {
    runtime::find_hardware("RTX 3060 16GB");
    FAIL() << "no such card";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("unknown GPU 'RTX 3060 16GB'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("RTX 3060 12GB"), std::string::npos) << msg;
  }
  EXPECT_THROW(runtime::find_hardware("Voodoo 5"), Error);
  EXPECT_THROW(runtime::find_hardware(""), Error);
  const auto close = runtime::close_hardware("rtx 4080 supr", 3);
  ASSERT_EQ(close.size(), 3u);
  EXPECT_NE(close[0].find("4080"), std::string::npos);
}

TEST(HardwareTable, ParsesMemorySizes) {
  EXPECT_EQ(runtime::parse_memory_size("12GiB"), 12ull << 30);
  EXPECT_EQ(runtime::parse_memory_size("12 GB"), 12ull << 30);
  EXPECT_EQ(runtime::parse_memory_size("24"), 24ull << 30);
  EXPECT_EQ(runtime::parse_memory_size("16384MiB"), 16ull << 30);
  EXPECT_EQ(runtime::parse_memory_size("1.5g"), 3ull << 29);
  EXPECT_THROW(runtime::parse_memory_size("lots"), Error);
  EXPECT_THROW(runtime::parse_memory_size("12 parsecs"), Error);
  EXPECT_THROW(runtime::parse_memory_size("-4GB"), Error);
  EXPECT_THROW(runtime::parse_memory_size("0"), Error);
}

TEST(HardwareProbe, ParsesMeminfoAndProbes) {
  const auto m =
      runtime::parse_meminfo("MemTotal:       32768000 kB\nMemFree: 1000 kB\nMemAvailable:   16384000 kB\n");
  EXPECT_EQ(m.total, 32768000ull * 1024);
  EXPECT_EQ(m.available, 16384000ull * 1024);
  const auto old =
      runtime::parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nCached: 200 kB\nBuffers: 50 kB\n");
  EXPECT_EQ(old.available, 350ull * 1024);
  const auto hw = runtime::probe_hardware();
  EXPECT_GT(hw.ram.total, 0u);
  EXPECT_GT(hw.ram.available, 0u);
  EXPECT_LE(hw.ram.available, hw.ram.total);
  EXPECT_GE(hw.cpu.physical_cores, 1);
  EXPECT_FALSE(hw.cpu.model.empty());
  EXPECT_GT(runtime::estimate_cpu_matmul_flops(hw.cpu), 1e9);
  for (const auto& g : hw.gpus) EXPECT_FALSE(g.name.empty());
  // This machine as the runtime plans it (no measurement: estimates).
  const PlanRequest r = runtime::local_request(hw, false);
  EXPECT_EQ(r.cpu.memory, hw.ram.available);
  EXPECT_GT(r.cpu.bandwidth, 0);
  EXPECT_EQ(r.gpu.has_value(), runtime::best_gpu(hw) != nullptr);
}

}  // namespace

// The examples users quote (issue #7's acceptance), on header-only files of the real shapes.
TEST_F(PlannerTest, QuotedExamples) {
  runtime::CpuInfo ci;
  ci.model = "desktop";
  ci.physical_cores = 8;
  const DeviceSpec ddr4 = runtime::cpu_device(ci, 64ull << 30, 51.2e9 * runtime::kRamPeakToMeasured, 0);
  PlanRequest r = request("RTX 3060 12GB");
  r.cpu = ddr4;
  // Llama 3.1 8B Q4_K_M at 4096 tokens fits entirely on an RTX 3060 12GB. The issue quotes ~30 tok/s;
  // measurements of llama.cpp/Ollama on this file are higher (llama-bench tg128 ~50-60 on a 3060; Ollama
  // 47 tok/s on an RTX 4060 Laptop, 256 GB/s), and the bandwidth limit is 360 / 4.6 GB = 78 tok/s, so the
  // planner is held to the measurements: ~55 tok/s +-40% (docs/planner.md).
  const Plan p8 = runtime::plan(cost("8b"), r);
  EXPECT_TRUE(p8.fits);
  EXPECT_EQ(p8.gpu_layers, p8.n_layer);
  EXPECT_NEAR(p8.tg_tok_s, 55, 55 * 0.4);
  // 70B does not fit and offloads most layers. The issue quotes ~3 tok/s, but with dual-channel DDR4-3200
  // (51.2 GB/s peak) the ~32 GB left in system RAM cap generation at 1.6 tok/s even at 100% of the peak;
  // CPU-offloaded 70B Q4_K_M on DDR4 is measured at about 1 tok/s: 1.1 +-50%.
  const Plan p70 = runtime::plan(cost("70b"), r);
  EXPECT_TRUE(p70.fits);
  EXPECT_GT(p70.gpu_layers, 0);
  EXPECT_LT(p70.gpu_layers, p70.n_layer);
  EXPECT_LT(p70.tg_tok_s, 51.2e9 / static_cast<double>(p70.cpu.weights));  // the physical ceiling
  EXPECT_NEAR(p70.tg_tok_s, 1.1, 1.1 * 0.5);
  // M2 Max 64GB: 70B fits in unified memory at ~10 tok/s (+-40%).
  PlanRequest m = request("M2 Max 64GB");
  m.cpu = runtime::cpu_device(ci, 60ull << 30, 400e9 * 0.6, 0);
  const Plan pm = runtime::plan(cost("70b"), m);
  EXPECT_TRUE(pm.fits);
  EXPECT_EQ(pm.gpu_layers, pm.n_layer);
  EXPECT_NEAR(pm.tg_tok_s, 10, 10 * 0.4);
  // 8 GB of VRAM holds a 7B Q4_K_M entirely, not a 13B.
  PlanRequest v8 = request(nullptr);
  v8.gpu = runtime::gpu_from_numbers(8ull << 30, 272e9);
  const Plan p7 = runtime::plan(cost("7b"), v8);
  const Plan p13 = runtime::plan(cost("13b"), v8);
  EXPECT_EQ(p7.gpu_layers, p7.n_layer);
  EXPECT_LT(p13.gpu_layers, p13.n_layer);
  std::printf("8B on RTX 3060: %.1f tok/s; 70B: %d/%lld layers, %.2f tok/s; M2 Max 70B: %.1f tok/s; 8 GB: 7B %d/%lld, "
              "13B %d/%lld layers\n", p8.tg_tok_s, p70.gpu_layers, static_cast<long long>(p70.n_layer), p70.tg_tok_s,
              pm.tg_tok_s, p7.gpu_layers, static_cast<long long>(p7.n_layer), p13.gpu_layers,
              static_cast<long long>(p13.n_layer));
}
