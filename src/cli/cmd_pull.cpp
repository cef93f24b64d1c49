// `hearth pull NAME`: download a model into the store (Ollama registry, Hugging Face, URL or local file).
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "store/fsutil.h"
#include "store/store.h"

namespace hearth::cli {
namespace {

struct PullArgs {
  std::string ref;
  store::PullOptions opt;
};

std::function<int()> setup_pull(CLI::App& app) {
  auto a = std::make_shared<PullArgs>();
  auto* cmd = app.add_subcommand("pull", "download a model into the store");
  cmd->footer(
      "MODEL is a registry name (llama3.1:8b, library/llama3.1:8b, host/ns/model:tag), a Hugging Face GGUF\n"
      "repository (hf.co/USER/REPO[:QUANT], Q4_K_M by default), an http(s) URL of a .gguf file, or a local\n"
      "GGUF path. Interrupted downloads resume. Environment: HEARTH_HOME (store, default ~/.hearth),\n"
      "HEARTH_REGISTRY (registry base URL), HEARTH_HF_ENDPOINT and HF_TOKEN (Hugging Face), http(s)_proxy.");
  cmd->add_option("model", a->ref, "what to pull")->required();
  cmd->add_option("--name", a->opt.name,
                  "store the model under this name (default: from the file name for URLs and paths)");
  cmd->add_flag("--link", a->opt.link,
                "local files: use the file in place instead of copying it into the store");
  cmd->add_flag("--insecure", a->opt.insecure, "use plain http for a registry host named in MODEL");
  cmd->add_option("--sha256", a->opt.sha256, "URLs: the expected sha256 of the file");
  cmd->add_flag("-q,--quiet", a->opt.quiet, "no progress output");
  return [a] {
    const auto r = store::pull(a->ref, a->opt);
    std::printf("pulled %s (%s)\n", r.name.display().c_str(), store::human_size(r.size).c_str());
    return 0;
  };
}

HEARTH_COMMAND(20, setup_pull);

}  // namespace
}  // namespace hearth::cli
