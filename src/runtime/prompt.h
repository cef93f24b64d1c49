#pragma once
#include <nlohmann/json.hpp>

#include <vector>

#include "runtime/loaded_model.h"

namespace hearth::runtime {

// Chat messages -> prompt tokens through the model's chat template (ChatML fallback with a warning).
// `tools` may be null. The BOS token is added unless the rendered text already starts with it.
std::vector<int32_t> chat_prompt_tokens(const LoadedModel& lm, const nlohmann::ordered_json& messages,
                                        const nlohmann::ordered_json& tools = nullptr);

// A plain-text prompt -> tokens (BOS as the vocabulary asks; special-token text stays text).
std::vector<int32_t> text_prompt_tokens(const LoadedModel& lm, const std::string& text);

}  // namespace hearth::runtime
