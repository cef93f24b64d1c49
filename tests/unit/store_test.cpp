// Unit tests of the model store: name parsing and validation, manifests, atomic writes, verified blobs,
// garbage collection, locks, Hugging Face file choice and name resolution (hearth's store, Ollama's, HF
// cache).
#include "store/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "base/error.h"
#include "gguf/gguf.h"
#include "store/fsutil.h"
#include "store/local.h"
#include "store/manifest.h"
#include "store/name.h"
#include "store/sha256.h"
#include "store/sources.h"

namespace fs = std::filesystem;
using namespace hearth;
using namespace hearth::store;

namespace {

// A fresh temporary folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "hearth-store-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Sets an environment variable for the lifetime of the object (restoring the previous value).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string digest_of(const std::string& text) { return "sha256:" + sha256_hex(text); }

// A small valid GGUF (one F32 tensor) with the given file type.
void write_gguf(const std::string& path, int file_type) {
  fs::create_directories(fs::path(path).parent_path());
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::str("llama"));
  w.set("general.file_type", gguf::Value::u32(static_cast<uint32_t>(file_type)));
  w.add_tensor("blk.0.weight", tensor::Type::F32, {8});
  w.begin(path);
  float data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  w.write_data(data, sizeof(data));
  w.finish();
}

// Adds a blob with this content to the store, returning its digest.
std::string add_blob(LocalStore& s, const std::string& text, const std::string& scratch) {
  write_text(scratch, text);
  return s.import_file(scratch);
}

Layer layer(const std::string& media, const std::string& digest, uint64_t size) {
  Layer l;
  l.media_type = media;
  l.digest = digest;
  l.size = size;
  return l;
}

}  // namespace

// ------------------------------------------------------------------------------------------ names

TEST(StoreName, ParsesOllamaNames) {
  auto n = parse_model_name("llama3.1");
  EXPECT_EQ(n.host, "registry.ollama.ai");
  EXPECT_EQ(n.ns, "library");
  EXPECT_EQ(n.model, "llama3.1");
  EXPECT_EQ(n.tag, "latest");
  EXPECT_EQ(n.display(), "llama3.1:latest");

  n = parse_model_name("llama3.1:8b-instruct-q4_K_M");
  EXPECT_EQ(n.tag, "8b-instruct-q4_K_M");  // Ollama tags keep their case

  n = parse_model_name("library/llama3.1:8b");
  EXPECT_EQ(n.full(), "registry.ollama.ai/library/llama3.1:8b");
  EXPECT_EQ(n.display(), "llama3.1:8b");

  n = parse_model_name("someone/model:v1");
  EXPECT_EQ(n.display(), "someone/model:v1");

  n = parse_model_name("Localhost:5000/ns/model:tag");
  EXPECT_EQ(n.host, "localhost:5000");
  EXPECT_EQ(n.ns, "ns");
  EXPECT_EQ(n.tag, "tag");
  EXPECT_EQ(n.display(), "localhost:5000/ns/model:tag");
  n = parse_model_name("localhost:5000/ns/model");
  EXPECT_EQ(n.tag, "latest");
}

TEST(StoreName, ParsesHuggingFaceNames) {
  auto n = parse_model_name("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:q4_k_m");
  EXPECT_TRUE(n.is_hf());
  EXPECT_EQ(n.ns, "bartowski");
  EXPECT_EQ(n.model, "Llama-3.2-1B-Instruct-GGUF");
  EXPECT_EQ(n.tag, "Q4_K_M");  // quantization tags are case-insensitive: stored upper-case
  n = parse_model_name("huggingface.co/u/r");
  EXPECT_EQ(n.host, "hf.co");
  EXPECT_EQ(n.tag, "latest");
  EXPECT_EQ(parse_model_name("hf.co/u/r:Latest").tag, "latest");
  EXPECT_THROW(parse_model_name("hf.co/repo"), Error);
}

TEST(StoreName, RejectsTraversalAndOddCharacters) {
  for (const char* bad : {"",
                          "../x",
                          "a/../b",
                          "./x",
                          "x/./y",
                          "/abs",
                          "a//b",
                          "x:",
                          ":tag",
                          "a b",
                          "x:../..",
                          "x:a/b",
                          ".hidden",
                          "ns/.model",
                          "-dash",
                          "model:-tag",
                          "a/b/c/d",
                          "a\\b",
                          "x\ny",
                          "evil..host/ns/m",
                          "host:port/ns/m",
                          "host:123456/ns/m",
                          "a/b:c/d",
                          "m:t\t",
                          "ns/m%2f",
                          "m;rm"}) {
    EXPECT_THROW(parse_model_name(bad), Error) << "accepted '" << bad << "'";
  }
  EXPECT_THROW(parse_model_name(std::string(200, 'a')), Error);
  EXPECT_THROW(parse_model_name("m:" + std::string(81, 't')), Error);
  // Whatever the input, an accepted name maps to a path inside the manifests folder.
  TempDir t;
  ModelsDir d(t.path());
  for (const char* ok : {"a", "a.b-c_d:e.f-g_h", "h.example.com:8080/n/m:t", "hf.co/u/r:Q4_K_M"}) {
    const std::string p = d.manifest_path(parse_model_name(ok));
    EXPECT_EQ(p.rfind(d.manifests_dir() + "/", 0), 0u) << p;
    EXPECT_EQ(p.find("/../"), std::string::npos) << p;
  }
  ModelName hand;
  hand.model = "..";
  EXPECT_THROW(d.manifest_path(hand), Error);
}

TEST(StoreName, ClassifiesReferences) {
  auto r = parse_reference("https://example.com/files/Llama-3.2-1B-Instruct-Q4_K_M.gguf?download=true");
  EXPECT_EQ(r.kind, RefKind::Url);
  EXPECT_EQ(r.name.model, "llama-3.2-1b-instruct-q4_k_m");
  EXPECT_EQ(r.name.host, "registry.ollama.ai");
  EXPECT_THROW(parse_reference("ftp://example.com/x.gguf"), Error);
  EXPECT_THROW(parse_reference("file:///etc/passwd"), Error);
  EXPECT_THROW(parse_reference("http://exa mple.com/x.gguf"), Error);

  r = parse_reference("./models/x.gguf");
  EXPECT_EQ(r.kind, RefKind::File);
  EXPECT_EQ(r.path, "./models/x.gguf");
  EXPECT_EQ(r.name.model, "x");
  EXPECT_EQ(parse_reference("/abs/y-00001-of-00003.gguf").name.model, "y");
  EXPECT_EQ(parse_reference("Model.GGUF").kind, RefKind::File);
  EXPECT_EQ(parse_reference("llama3.1:8b").kind, RefKind::Name);
  EXPECT_EQ(parse_reference("hf.co/u/r").kind, RefKind::Name);
}

TEST(StoreName, ValidatesDigests) {
  const std::string good = "sha256:" + std::string(64, 'a');
  EXPECT_TRUE(is_valid_digest(good));
  EXPECT_EQ(digest_hex(good), std::string(64, 'a'));
  for (const std::string& bad : {"sha256:" + std::string(64, 'A'), "sha256:" + std::string(63, 'a'),
                                 "sha256:" + std::string(65, 'a'), "sha512:" + std::string(64, 'a'),
                                 "sha256-" + std::string(64, 'a'), std::string("sha256:../../../etc/passwd"),
                                 "sha256:" + std::string(62, 'a') + "/x", std::string("")}) {
    EXPECT_FALSE(is_valid_digest(bad)) << bad;
    EXPECT_THROW(digest_hex(bad), Error) << bad;
  }
  TempDir t;
  ModelsDir d(t.path());
  EXPECT_THROW(d.blob_path("sha256:../../x"), Error);
  EXPECT_EQ(d.blob_path(good), d.blobs_dir() + "/sha256-" + std::string(64, 'a'));
}

TEST(StoreName, FileNameHelpers) {
  EXPECT_EQ(quant_from_filename("Llama-3.2-1B-Instruct-Q4_K_M.gguf"), "Q4_K_M");
  EXPECT_EQ(quant_from_filename("model.q8_0.gguf"), "Q8_0");
  EXPECT_EQ(quant_from_filename("qwen2.5-7b-instruct-iq4_xs-00001-of-00002.gguf"), "IQ4_XS");
  EXPECT_EQ(quant_from_filename("tiny-f16.gguf"), "F16");
  EXPECT_EQ(quant_from_filename("x-BF16.gguf"), "BF16");
  EXPECT_EQ(quant_from_filename("Qwen2-model.gguf"), "");
  EXPECT_EQ(split_part("a-00002-of-00005.gguf").index, 2);
  EXPECT_EQ(split_part("a-00002-of-00005.gguf").count, 5);
  EXPECT_EQ(split_part("a.gguf").count, 0);
  EXPECT_EQ(split_part("a-00006-of-00005.gguf").count, 0);
  EXPECT_EQ(split_part_name("dir/m-Q4-00001-of-00003.gguf", 3), "dir/m-Q4-00003-of-00003.gguf");
  EXPECT_EQ(model_name_from_filename("My Model (v2)!.gguf"), "my-model-v2");
  EXPECT_EQ(model_name_from_filename("..gguf"), "model");
  EXPECT_TRUE(is_valid_component(model_name_from_filename("...---weird___.gguf")));
}

// ------------------------------------------------------------------------------------------ manifests

TEST(StoreManifest, ParsesOllamaManifestsAndRoundTrips) {
  const std::string d1 = "sha256:" + std::string(64, '1'), d2 = "sha256:" + std::string(64, '2'),
                    d3 = "sha256:" + std::string(64, '3');
  const std::string text =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
      d1 + R"(","size":10},
    "layers":[{"mediaType":"application/vnd.ollama.image.model","digest":")" +
      d2 + R"(","size":1000},
              {"mediaType":"application/vnd.ollama.image.template","digest":")" +
      d3 + R"(","size":20}]})";
  Manifest m = Manifest::parse(text, "test");
  ASSERT_TRUE(m.config);
  EXPECT_EQ(m.config->digest, d1);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.model_layers().size(), 1u);
  EXPECT_EQ(m.model_layers()[0]->digest, d2);
  ASSERT_NE(m.find(media::kTemplate), nullptr);
  EXPECT_EQ(m.find(media::kTemplate)->size, 20u);
  EXPECT_EQ(m.find(media::kParams), nullptr);
  EXPECT_EQ(m.total_size(), 1030u);
  EXPECT_EQ(m.digests(), (std::vector<std::string>{d1, d2, d3}));
  m.annotations[annot::kSource] = "ollama";
  Manifest again = Manifest::parse(m.serialize(), "again");
  EXPECT_EQ(again.digests(), m.digests());
  EXPECT_EQ(again.annotation(annot::kSource), "ollama");
}

TEST(StoreManifest, RejectsBadManifests) {
  const std::string good_digest = "sha256:" + std::string(64, 'a');
  auto with_layer = [](const std::string& layer) {
    return R"({"schemaVersion":2,"layers":[)" + layer + "]}";
  };
  EXPECT_NO_THROW(
      Manifest::parse(with_layer(R"({"mediaType":"m","digest":")" + good_digest + R"(","size":1})"), "t"));
  for (const std::string& bad : {
           std::string("not json"), std::string("[]"), std::string(R"({"schemaVersion":1,"layers":[]})"),
           std::string(R"({"schemaVersion":2})"),
           with_layer(R"({"mediaType":"m","digest":"sha256:../../etc/passwd","size":1})"),
           with_layer(R"({"mediaType":"m","digest":")" + good_digest + R"(","size":-1})"),
           with_layer(R"({"mediaType":"m","digest":")" + good_digest + R"(","size":1e300})"),
           with_layer(R"({"mediaType":"m","digest":")" + good_digest + R"(","size":2000000000000000000})"),
           with_layer(R"({"mediaType":"m","digest":")" + good_digest + R"("})"),
           with_layer(R"({"digest":")" + good_digest + R"(","size":1})"),
           with_layer(R"({"mediaType":"m","size":1})"),
           with_layer(R"({"mediaType":"m","path":"/etc/passwd","size":1})"),  // links only in local manifests
       }) {
    EXPECT_THROW(Manifest::parse(bad, "t"), Error) << bad;
  }
  std::string many = R"({"schemaVersion":2,"layers":[)";
  for (int i = 0; i < 1001; ++i)
    many += std::string(i ? "," : "") + R"({"mediaType":"m","digest":")" + good_digest + R"(","size":1})";
  EXPECT_THROW(Manifest::parse(many + "]}", "t"), Error);
  // A linked layer is fine in hearth's own manifests; an unsafe title is dropped, not trusted.
  Manifest m = Manifest::parse(
      with_layer(
          R"({"mediaType":"m","path":"/x/y.gguf","size":1,"annotations":{"org.opencontainers.image.title":"../../z"}})"),
      "t", true);
  EXPECT_EQ(m.layers[0].path, "/x/y.gguf");
  EXPECT_EQ(m.layers[0].title, "");
  EXPECT_THROW(Manifest::parse(with_layer(R"({"mediaType":"m","path":"rel/y.gguf","size":1})"), "t", true),
               Error);
}

// ------------------------------------------------------------------------------------------ files and blobs

TEST(StoreFiles, AtomicWriteReplacesAndLeavesNoTemporary) {
  TempDir t;
  const std::string p = t.path() + "/file";
  atomic_write(p, "first");
  EXPECT_EQ(read_text(p), "first");
  atomic_write(p, "second, longer");
  EXPECT_EQ(read_text(p), "second, longer");
  int n = 0;
  for (auto& e : fs::directory_iterator(t.path())) (void)e, ++n;
  EXPECT_EQ(n, 1);  // no temporary left behind
  const std::string tmp = temp_sibling(p);
  EXPECT_EQ(fs::path(tmp).parent_path(), fs::path(p).parent_path());
  EXPECT_EQ(fs::path(tmp).filename().string()[0], '.');  // hidden: listings skip it
  EXPECT_NE(tmp, temp_sibling(p));
  EXPECT_THROW(atomic_write(t.path() + "/missing-dir/file", "x"), Error);
  EXPECT_THROW(read_file(p, 3), Error);  // larger than allowed
}

TEST(StoreFiles, Sha256MatchesKnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  TempDir t;
  write_text(t.path() + "/f", "abc");
  EXPECT_EQ(sha256_file(t.path() + "/f"), sha256_hex("abc"));
  EXPECT_EQ(sha256_file(t.path() + "/f", 0), sha256_hex(""));
}

TEST(StoreFiles, FreeSpaceCheck) {
  EXPECT_NO_THROW(check_free_space(0, 0, "/x"));
  EXPECT_NO_THROW(check_free_space(1000, 1ull << 40, "/x"));
  EXPECT_THROW(check_free_space(10ull << 30, 5ull << 30, "/x"), DiskFullError);
  try {
    check_free_space(10ull << 30, 5ull << 30, "/data");
  } catch (const DiskFullError& e) {
    EXPECT_NE(std::string(e.what()).find("not enough disk space in /data"), std::string::npos);
  }
  EXPECT_GT(free_space(fs::temp_directory_path().string()), 0u);
  EXPECT_EQ(human_size(1500), "2 KB");
  EXPECT_EQ(human_size(4'700'000'000ull), "4.7 GB");
}

TEST(StoreFiles, LocksExcludeOtherHolders) {
  TempDir t;
  const std::string p = t.path() + "/x.lock";
  {
    FileLock held(p, true);
    FileLock other;
    EXPECT_FALSE(FileLock::try_lock(p, true, &other));
    EXPECT_FALSE(FileLock::try_lock(p, false, &other));
  }
  FileLock a, b, c;
  EXPECT_TRUE(FileLock::try_lock(p, false, &a));
  EXPECT_TRUE(FileLock::try_lock(p, false, &b));  // shared locks coexist
  EXPECT_FALSE(FileLock::try_lock(p, true, &c));
}

TEST(StoreBlobs, MismatchedBlobIsRejectedAndNeverVisible) {
  TempDir t;
  LocalStore s(t.path());
  const std::string data = "model bytes";
  const std::string wrong = digest_of("other bytes");
  // A download whose hash does not match.
  const std::string tmp = s.partial_path(digest_hex(wrong));
  write_text(tmp, data);
  EXPECT_THROW(s.commit_blob(tmp, wrong, sha256_hex(data)), Error);
  EXPECT_FALSE(s.has_blob(wrong));
  EXPECT_FALSE(s.has_blob(digest_of(data)));
  EXPECT_FALSE(fs::exists(tmp));  // the bad data is gone
  // An import with an expected digest that does not match.
  write_text(t.path() + "/src", data);
  EXPECT_THROW(s.import_file(t.path() + "/src", wrong), Error);
  EXPECT_FALSE(s.has_blob(wrong));
  for (auto& e : fs::directory_iterator(s.blobs_dir())) ADD_FAILURE() << "left behind: " << e.path();
  // The right digest works.
  const std::string d = s.import_file(t.path() + "/src");
  EXPECT_EQ(d, digest_of(data));
  EXPECT_TRUE(s.has_blob(d));
  EXPECT_EQ(read_text(s.blob_path(d)), data);
  EXPECT_EQ(s.import_file(t.path() + "/src", d), d);  // already present
}

TEST(StoreBlobs, ManifestNeverPointsAtMissingBlob) {
  TempDir t;
  LocalStore s(t.path());
  const ModelName name = parse_model_name("m:1");
  Manifest m;
  m.layers.push_back(layer(media::kModel, digest_of("absent"), 6));
  EXPECT_THROW(s.write_manifest(name, m), Error);
  EXPECT_FALSE(s.read_manifest(name));
  const std::string d = add_blob(s, "present", t.path() + "/a");
  m.layers[0] = layer(media::kModel, d, 7);
  s.write_manifest(name, m);
  auto back = s.read_manifest(name);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->digests(), std::vector<std::string>{d});
  EXPECT_EQ(s.manifest_path(name), s.manifests_dir() + "/registry.ollama.ai/library/m/1");
  // A linked layer must point at an existing file.
  Manifest link;
  Layer l;
  l.media_type = media::kModel;
  l.path = t.path() + "/nowhere.gguf";
  link.layers.push_back(l);
  EXPECT_THROW(s.write_manifest(parse_model_name("linked"), link), Error);
}

TEST(StoreBlobs, ListSkipsTemporariesAndInvalidNames) {
  TempDir t;
  LocalStore s(t.path());
  const std::string d = add_blob(s, "x", t.path() + "/a");
  Manifest m;
  m.layers.push_back(layer(media::kModel, d, 1));
  s.write_manifest(parse_model_name("one"), m);
  s.write_manifest(parse_model_name("hf.co/u/r:Q4_K_M"), m);
  write_text(s.manifests_dir() + "/registry.ollama.ai/library/one/.latest.tmp-1-2-3", "{}");
  write_text(s.manifests_dir() + "/registry.ollama.ai/library/.bad/latest", "{}");
  write_text(s.manifests_dir() + "/registry.ollama.ai/library/bad name/latest", "{}");
  const auto entries = s.list_manifests();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name.display(), "hf.co/u/r:Q4_K_M");
  EXPECT_EQ(entries[1].name.display(), "one:latest");
}

TEST(StoreBlobs, RemoveKeepsBlobsOtherModelsUse) {
  TempDir t;
  ScopedEnv home("HEARTH_HOME", t.path() + "/home");
  ScopedEnv ollama("OLLAMA_MODELS", t.path() + "/no-ollama");
  ScopedEnv hf("HF_HUB_CACHE", t.path() + "/no-hf");
  LocalStore s;
  const std::string shared = add_blob(s, "shared model", t.path() + "/a");
  const std::string only_a = add_blob(s, "params of a", t.path() + "/b");
  const std::string only_b = add_blob(s, "params of b", t.path() + "/c");
  Manifest a, b;
  a.layers = {layer(media::kModel, shared, 12), layer(media::kParams, only_a, 11)};
  b.layers = {layer(media::kModel, shared, 12), layer(media::kParams, only_b, 11)};
  s.write_manifest(parse_model_name("a"), a);
  s.write_manifest(parse_model_name("b:x"), b);

  auto r = remove_model("a");
  EXPECT_EQ(r.name.display(), "a:latest");
  EXPECT_EQ(r.blobs_deleted, 1);
  EXPECT_EQ(r.bytes_freed, 11u);
  EXPECT_TRUE(s.has_blob(shared));
  EXPECT_FALSE(s.has_blob(only_a));
  EXPECT_TRUE(s.has_blob(only_b));
  EXPECT_FALSE(fs::exists(s.manifests_dir() + "/registry.ollama.ai/library/a"));  // empty folder removed
  EXPECT_THROW(remove_model("a"), Error);

  // cp shares blobs; removing the original keeps them for the copy.
  EXPECT_EQ(copy_model("b:x", "c").display(), "c:latest");
  remove_model("b:x");
  EXPECT_TRUE(s.has_blob(shared));
  EXPECT_TRUE(s.has_blob(only_b));
  remove_model("c");
  EXPECT_FALSE(s.has_blob(shared));
  EXPECT_FALSE(s.has_blob(only_b));
  EXPECT_THROW(copy_model("nothing", "d"), Error);
}

TEST(StoreBlobs, GcStopsOnUnreadableManifest) {
  TempDir t;
  LocalStore s(t.path());
  const std::string d = add_blob(s, "orphan", t.path() + "/a");
  write_text(s.manifests_dir() + "/registry.ollama.ai/library/broken/latest", "{not json");
  auto lock = s.lock_gc(true);
  EXPECT_EQ(s.gc().blobs, 0);
  EXPECT_TRUE(s.has_blob(d));  // when in doubt, delete nothing
}

// ------------------------------------------------------------------------------------------ Hugging Face

TEST(StoreHf, ChoosesTheRequestedQuantization) {
  std::vector<hf::RepoFile> files = {
      {"README.md", 10, ""},
      {"m-Q2_K.gguf", 100, std::string(64, '1')},
      {"m-Q4_K_M.gguf", 200, std::string(64, '2')},
      {"m-Q8_0.gguf", 300, std::string(64, '3')},
      {"mmproj-m-f16.gguf", 50, std::string(64, '4')},
      {"big/m-F16-00002-of-00002.gguf", 400, std::string(64, '6')},
      {"big/m-F16-00001-of-00002.gguf", 400, std::string(64, '5')},
  };
  auto pick = hf::choose_files(files, "latest", "u/m");
  ASSERT_EQ(pick.size(), 1u);
  EXPECT_EQ(pick[0].path, "m-Q4_K_M.gguf");
  pick = hf::choose_files(files, "q8_0", "u/m");
  ASSERT_EQ(pick.size(), 1u);
  EXPECT_EQ(pick[0].path, "m-Q8_0.gguf");
  pick = hf::choose_files(files, "F16", "u/m");  // a split model: every part, in order (never the mmproj)
  ASSERT_EQ(pick.size(), 2u);
  EXPECT_EQ(pick[0].path, "big/m-F16-00001-of-00002.gguf");
  EXPECT_EQ(pick[1].path, "big/m-F16-00002-of-00002.gguf");
  try {
    hf::choose_files(files, "Q5_K_M", "u/m");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("available: F16, Q2_K, Q4_K_M, Q8_0"), std::string::npos)
        << e.what();
  }
  // Without Q4_K_M: the only model, else an error listing the choices.
  EXPECT_EQ(hf::choose_files({{"only-Q6_K.gguf", 1, ""}}, "latest", "u/m")[0].path, "only-Q6_K.gguf");
  EXPECT_THROW(hf::choose_files({{"a-Q6_K.gguf", 1, ""}, {"a-Q8_0.gguf", 1, ""}}, "latest", "u/m"), Error);
  EXPECT_THROW(hf::choose_files({{"README.md", 1, ""}}, "latest", "u/m"), Error);
  // A split model with a missing part cannot be pulled.
  EXPECT_THROW(
      hf::choose_files({{"s-Q4_K_M-00001-of-00003.gguf", 1, ""}, {"s-Q4_K_M-00003-of-00003.gguf", 1, ""}},
                       "Q4_K_M", "u/m"),
      Error);
}

TEST(StoreHf, EndpointAndTokenFromEnvironment) {
  ScopedEnv e("HEARTH_HF_ENDPOINT", "http://127.0.0.1:9/hub/");
  EXPECT_EQ(hf::endpoint(), "http://127.0.0.1:9/hub");
  ScopedEnv tok("HF_TOKEN", "abc");
  EXPECT_EQ(hf::auth_headers(), std::vector<std::string>{"Authorization: Bearer abc"});
  ScopedEnv bad("HF_TOKEN", "abc\r\nX-Evil: 1");
  EXPECT_THROW(hf::auth_headers(), Error);
  ScopedEnv reg("HEARTH_REGISTRY", "ftp://x");
  EXPECT_THROW(ollama::base_url(parse_model_name("m"), false), Error);
  EXPECT_EQ(ollama::base_url(parse_model_name("example.com/ns/m"), false), "https://example.com");
  EXPECT_EQ(ollama::base_url(parse_model_name("localhost:5000/ns/m"), true), "http://localhost:5000");
}

TEST(StoreHf, UrlPlansFetchEverySplitPart) {
  auto plan = plan_url("https://example.com/d/m-Q4_K_M-00001-of-00003.gguf", "");
  ASSERT_EQ(plan.blobs.size(), 3u);
  EXPECT_EQ(plan.blobs[2].url, "https://example.com/d/m-Q4_K_M-00003-of-00003.gguf");
  EXPECT_TRUE(plan.blobs[0].digest.empty());
  EXPECT_THROW(plan_url("https://example.com/d/m-00002-of-00003.gguf", ""), Error);
  plan = plan_url("https://example.com/m.gguf", std::string(64, 'A'));
  EXPECT_EQ(plan.blobs[0].digest, "sha256:" + std::string(64, 'a'));
  EXPECT_THROW(plan_url("https://example.com/m.gguf", "xyz"), Error);
}

// ------------------------------------------------------------------------------------------ resolution

class StoreResolve : public ::testing::Test {
 protected:
  TempDir t;
  ScopedEnv home{"HEARTH_HOME", t.path() + "/home"};
  ScopedEnv ollama{"OLLAMA_MODELS", t.path() + "/ollama"};
  ScopedEnv hf{"HF_HUB_CACHE", t.path() + "/hf"};
};

TEST_F(StoreResolve, ResolvesStoreNamesWithExtraLayers) {
  LocalStore s;
  write_gguf(t.path() + "/m.gguf", 15);
  const std::string model = s.import_file(t.path() + "/m.gguf");
  const std::string tmpl = add_blob(s, "{{ .System }} {{ .Prompt }}", t.path() + "/t");
  const std::string params = add_blob(s, R"({"temperature":0.25,"stop":["<|end|>"]})", t.path() + "/p");
  const std::string system = add_blob(s, "Be brief.", t.path() + "/s");
  Manifest m;
  m.layers = {layer(media::kModel, model, 1), layer(media::kTemplate, tmpl, 1),
              layer(media::kParams, params, 1), layer(media::kSystem, system, 1)};
  s.write_manifest(parse_model_name("llama3.1:8b"), m);

  for (const char* ref : {"llama3.1:8b", "library/llama3.1:8b", "registry.ollama.ai/library/llama3.1:8b"}) {
    ResolvedModel r = resolve(ref);
    EXPECT_EQ(r.name, "llama3.1:8b");
    EXPECT_EQ(r.source, "hearth");
    EXPECT_EQ(r.model_path, s.blob_path(model));
    EXPECT_EQ(r.digest, model);
    ASSERT_TRUE(r.template_text);
    EXPECT_EQ(*r.template_text, "{{ .System }} {{ .Prompt }}");
    EXPECT_DOUBLE_EQ(r.params["temperature"].get<double>(), 0.25);
    EXPECT_EQ(r.params["stop"][0], "<|end|>");
    ASSERT_TRUE(r.system);
    EXPECT_EQ(*r.system, "Be brief.");
    EXPECT_FALSE(r.license);
  }
  // The resolved file is a real GGUF.
  EXPECT_EQ(gguf::File::open(resolve("llama3.1:8b").model_path, {.header_only = true})
                ->get_int("general.file_type"),
            15);
  EXPECT_FALSE(find_model("llama3.1:70b"));
  try {
    resolve("llama3.1:70b");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hearth pull llama3.1:70b"), std::string::npos);
  }
  // A plain path resolves to itself; a damaged model says so.
  EXPECT_EQ(resolve(t.path() + "/m.gguf").model_path, t.path() + "/m.gguf");
  EXPECT_EQ(resolve(t.path() + "/m.gguf").source, "file");
  EXPECT_THROW(resolve(t.path() + "/none.gguf"), Error);
  fs::remove(s.blob_path(system));
  EXPECT_THROW(resolve("llama3.1:8b"), Error);
  // list shows it with its quantization (from the GGUF header).
  auto models = list_models(false);
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].name, "llama3.1:8b");
  EXPECT_EQ(models[0].quant, "Q4_K_M");
  EXPECT_EQ(models[0].arch, "llama");
  EXPECT_EQ(models[0].id, model.substr(7, 12));
}

TEST_F(StoreResolve, SplitModelsGetNamedLinks) {
  LocalStore s;
  const std::string p1 = add_blob(s, "part one", t.path() + "/1");
  const std::string p2 = add_blob(s, "part two", t.path() + "/2");
  Manifest m;
  m.layers = {layer(media::kModel, p1, 8), layer(media::kModel, p2, 8)};
  m.layers[0].title = "big-Q4_K_M-00001-of-00002.gguf";
  m.layers[1].title = "big-Q4_K_M-00002-of-00002.gguf";
  s.write_manifest(parse_model_name("hf.co/u/big:Q4_K_M"), m);
  ResolvedModel r = resolve("hf.co/u/big:q4_k_m");
  ASSERT_EQ(r.parts.size(), 2u);
  EXPECT_EQ(fs::path(r.model_path).filename(), "big-Q4_K_M-00001-of-00002.gguf");
  EXPECT_EQ(fs::path(r.parts[1]).parent_path(), fs::path(r.model_path).parent_path());
  EXPECT_EQ(read_text(r.parts[0]), "part one");
  EXPECT_EQ(read_text(r.parts[1]), "part two");
  EXPECT_EQ(resolve("hf.co/u/big:Q4_K_M").parts, r.parts);  // stable, reused
  // gguf's own split naming finds the siblings.
  EXPECT_EQ(gguf::split_paths(r.model_path, 2), r.parts);
}

TEST_F(StoreResolve, UsesOllamaStoreAndHfCacheInPlace) {
  // An Ollama store with one model.
  const std::string od = t.path() + "/ollama";
  const std::string blob_text = "ollama model";
  const std::string d = digest_of(blob_text);
  write_text(od + "/blobs/sha256-" + digest_hex(d), blob_text);
  write_text(od + "/manifests/registry.ollama.ai/library/qwen/7b",
             R"({"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":")" +
                 d + R"(","size":12}]})");
  ResolvedModel r = resolve("qwen:7b");
  EXPECT_EQ(r.source, "ollama");
  EXPECT_EQ(r.model_path, od + "/blobs/sha256-" + digest_hex(d));
  try {
    remove_model("qwen:7b");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ollama rm"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(r.model_path));  // read-only: untouched

  // A Hugging Face cache with one repository.
  const std::string repo = t.path() + "/hf/models--someone--tiny-GGUF";
  write_text(repo + "/refs/main", "abc123\n");
  write_gguf(repo + "/snapshots/abc123/tiny-Q8_0.gguf", 7);
  write_gguf(repo + "/snapshots/abc123/tiny-Q4_K_M.gguf", 15);
  r = resolve("hf.co/someone/tiny-GGUF");
  EXPECT_EQ(r.source, "hf-cache");
  EXPECT_EQ(fs::path(r.model_path).filename(), "tiny-Q4_K_M.gguf");
  EXPECT_EQ(fs::path(resolve("hf.co/someone/tiny-GGUF:Q8_0").model_path).filename(), "tiny-Q8_0.gguf");
  EXPECT_FALSE(find_model("hf.co/someone/tiny-GGUF:Q2_K"));

  auto models = list_models(true);
  std::vector<std::string> seen;
  for (auto& m : models) seen.push_back(m.name + "@" + m.source + "@" + m.quant);
  EXPECT_EQ(seen,
            (std::vector<std::string>{"qwen:7b@ollama@?", "hf.co/someone/tiny-GGUF:Q4_K_M@hf-cache@Q4_K_M",
                                      "hf.co/someone/tiny-GGUF:Q8_0@hf-cache@Q8_0"}));
  EXPECT_TRUE(list_models(false).empty());
}

TEST_F(StoreResolve, PullImportsLocalFilesAndReportsEvents) {
  write_gguf(t.path() + "/My-Model-Q4_K_M.gguf", 15);
  std::vector<std::string> statuses;
  PullOptions opt;
  opt.on_event = [&](const PullEvent& e) { statuses.push_back(e.status); };
  PullResult r = pull(t.path() + "/My-Model-Q4_K_M.gguf", opt);
  EXPECT_EQ(r.name.display(), "my-model-q4_k_m:latest");
  ASSERT_FALSE(statuses.empty());
  EXPECT_EQ(statuses.back(), "success");
  ResolvedModel m = ensure("my-model-q4_k_m");  // present: no pull
  EXPECT_EQ(m.source, "hearth");
  EXPECT_EQ(m.digest, r.digest);
  EXPECT_EQ(sha256_file(m.model_path), digest_hex(r.digest));
  // A callback that throws cancels the pull before the manifest is written.
  opt.on_event = [](const PullEvent& e) {
    if (e.status.rfind("importing", 0) == 0) throw Error("cancelled");
  };
  opt.name = "other";
  EXPECT_THROW(pull(t.path() + "/My-Model-Q4_K_M.gguf", opt), Error);
  EXPECT_FALSE(find_model("other"));
  // --link keeps the file where it is.
  opt.on_event = nullptr;
  opt.link = true;
  opt.name = "linked";
  pull(t.path() + "/My-Model-Q4_K_M.gguf", opt);
  EXPECT_EQ(resolve("linked").model_path, fs::canonical(t.path() + "/My-Model-Q4_K_M.gguf").string());
  EXPECT_EQ(resolve("linked").digest, "");
  // A file that is not a GGUF is refused.
  write_text(t.path() + "/fake.gguf", "<html>");
  opt.link = false;
  opt.name = "";
  EXPECT_THROW(pull(t.path() + "/fake.gguf", opt), Error);
  EXPECT_FALSE(find_model("fake"));
}
