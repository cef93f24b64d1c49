#include "runtime/prompt.h"

#include "chat/chat.h"

namespace hearth::runtime {

std::vector<int32_t> chat_prompt_tokens(const LoadedModel& lm, const nlohmann::ordered_json& messages,
                                        const nlohmann::ordered_json& tools) {
  const auto& tok = lm.tokenizer();
  chat::ChatOptions co;
  co.add_generation_prompt = true;
  if (tok.bos() >= 0) co.bos_token = tok.token_text(tok.bos());
  if (tok.eos() >= 0) co.eos_token = tok.token_text(tok.eos());
  if (!tools.is_null()) co.tools = tools;
  const std::string text = lm.chat_template_engine().apply(messages, co);
  // Templates usually write the BOS text themselves: do not add a second one.
  const bool has_bos_text = !co.bos_token.empty() && text.rfind(co.bos_token, 0) == 0;
  auto ids = tok.encode(text, false, true);
  if (tok.add_bos() && tok.bos() >= 0 && !has_bos_text) ids.insert(ids.begin(), tok.bos());
  return ids;
}

std::vector<int32_t> text_prompt_tokens(const LoadedModel& lm, const std::string& text) {
  return lm.tokenizer().encode(text, true, false);
}

}  // namespace hearth::runtime
