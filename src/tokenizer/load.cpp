// Loading and validating `tokenizer.ggml.*`, with the reference implementation's defaults and its
// detection of special tokens by text.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>

#include "base/error.h"
#include "base/log.h"
#include "gguf/gguf.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

void ByteTrie::insert(std::string_view text, int32_t id) {
  if (text.empty()) return;
  int32_t n = root_[static_cast<uint8_t>(text[0])];
  if (n < 0) {
    n = static_cast<int32_t>(nodes_.size());
    nodes_.emplace_back();
    root_[static_cast<uint8_t>(text[0])] = n;
  }
  for (size_t i = 1; i < text.size(); ++i) {
    const uint8_t b = static_cast<uint8_t>(text[i]);
    auto& kids = nodes_[n].kids;
    auto it =
        std::lower_bound(kids.begin(), kids.end(), b, [](const auto& p, uint8_t v) { return p.first < v; });
    if (it != kids.end() && it->first == b) {
      n = it->second;
    } else {
      const int32_t m = static_cast<int32_t>(nodes_.size());
      kids.insert(it, {b, m});
      nodes_.emplace_back();
      n = m;
    }
  }
  nodes_[n].id = id;
}

int32_t ByteTrie::child(int32_t n, uint8_t b) const {
  const auto& kids = nodes_[n].kids;
  auto it =
      std::lower_bound(kids.begin(), kids.end(), b, [](const auto& p, uint8_t v) { return p.first < v; });
  return it != kids.end() && it->first == b ? it->second : -1;
}

int32_t BpeTable::intern(std::string_view s) {
  auto it = symbols.find(s);
  if (it != symbols.end()) return it->second;
  const int32_t id = static_cast<int32_t>(symbol_token.size());
  symbols.emplace(std::string(s), id);
  symbol_token.push_back(-1);
  return id;
}

namespace {

// tokenizer.ggml.token_type values.
enum TokenType {
  kTypeUndefined = 0,
  kTypeNormal,
  kTypeUnknown,
  kTypeControl,
  kTypeUserDefined,
  kTypeUnused,
  kTypeByte
};

uint32_t attr_of_type(int64_t t) {
  switch (t) {
    case kTypeNormal:
      return kAttrNormal;
    case kTypeUnknown:
      return kAttrUnknown;
    case kTypeControl:
      return kAttrControl;
    case kTypeUserDefined:
      return kAttrUserDefined;
    case kTypeUnused:
      return kAttrUnused;
    case kTypeByte:
      return kAttrByte;
    default:
      return kAttrUndefined;
  }
}

const gguf::Value* array_of(const gguf::File& f, const char* key, bool required) {
  const gguf::Value* v = f.find(key);
  if (!v) {
    if (required) fail("{}: the vocabulary has no {} (is this a model with a tokenizer?)", f.path(), key);
    return nullptr;
  }
  if (!v->is_array())
    fail("{}: {} must be an array, found {}", f.path(), key, gguf::value_type_name(v->type));
  return v;
}

// Special-token id keys and the field each sets.
struct IdKey {
  const char* key;
  int32_t Vocab::*field;
};
constexpr IdKey kIdKeys[] = {
    {"tokenizer.ggml.bos_token_id", &Vocab::bos},
    {"tokenizer.ggml.eos_token_id", &Vocab::eos},
    {"tokenizer.ggml.eot_token_id", &Vocab::eot},
    {"tokenizer.ggml.eom_token_id", &Vocab::eom},
    {"tokenizer.ggml.unknown_token_id", &Vocab::unk},
    {"tokenizer.ggml.seperator_token_id", &Vocab::sep},
    {"tokenizer.ggml.padding_token_id", &Vocab::pad},
    {"tokenizer.ggml.mask_token_id", &Vocab::mask},
    {"tokenizer.ggml.fim_pre_token_id", &Vocab::fim_pre},
    {"tokenizer.ggml.fim_suf_token_id", &Vocab::fim_suf},
    {"tokenizer.ggml.fim_mid_token_id", &Vocab::fim_mid},
    {"tokenizer.ggml.fim_pad_token_id", &Vocab::fim_pad},
    {"tokenizer.ggml.fim_rep_token_id", &Vocab::fim_rep},
    {"tokenizer.ggml.fim_sep_token_id", &Vocab::fim_sep},
    {"tokenizer.ggml.prefix_token_id", &Vocab::fim_pre},
    {"tokenizer.ggml.suffix_token_id", &Vocab::fim_suf},
    {"tokenizer.ggml.middle_token_id", &Vocab::fim_mid},
};

// Token texts by which the reference recognises special tokens (in order of preference).
const std::vector<std::string_view> kEotTexts = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",         "<|endoftext|>",     "<|end_of_text|>",
    "<EOT>",      "_<EOT>",     "[EOT]",   "<｜end▁of▁sentence｜>", "<end_of_utterance>"};
const std::vector<std::string_view> kEomTexts = {"<|eom_id|>"};
const std::vector<std::string_view> kFimPreTexts = {"<|fim_prefix|>",  "<fim-prefix>", "<fim_prefix>",
                                                    "<｜fim▁begin｜>", "<PRE>",        "▁<PRE>",
                                                    "<|code_prefix|>", "<|prefix|>"};
const std::vector<std::string_view> kFimSufTexts = {"<|fim_suffix|>",  "<fim-suffix>", "<fim_suffix>",
                                                    "<｜fim▁hole｜>",  "<SUF>",        "▁<SUF>",
                                                    "<|code_suffix|>", "<|suffix|>"};
const std::vector<std::string_view> kFimMidTexts = {"<|fim_middle|>",  "<fim-middle>", "<fim_middle>",
                                                    "<｜fim▁end｜>",   "<MID>",        "▁<MID>",
                                                    "<|code_middle|>", "<|middle|>"};
const std::vector<std::string_view> kFimPadTexts = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>",
                                                    "[PAD]"};
const std::vector<std::string_view> kFimRepTexts = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
                                                    "<reponame>"};
const std::vector<std::string_view> kFimSepTexts = {"<|file_sep|>"};
const std::vector<std::string_view> kEogTexts = {"<|eot_id|>",
                                                 "<|im_end|>",
                                                 "<|end|>",
                                                 "<|return|>",
                                                 "<|call|>",
                                                 "<|flush|>",
                                                 "<|calls|>",
                                                 "<end_of_turn>",
                                                 "<|endoftext|>",
                                                 "</s>",
                                                 "<|eom_id|>",
                                                 "<EOT>",
                                                 "_<EOT>",
                                                 "[EOT]",
                                                 "[EOS]",
                                                 "<|end_of_text|>",
                                                 "<end_of_utterance>",
                                                 "<eos>",
                                                 "<turn|>",
                                                 "<|tool_response>",
                                                 "<｜end▁of▁sentence｜>",
                                                 "[e~["};

void make_control(Vocab& v, int32_t id) {
  if (!(v.attr[id] & kAttrControl)) {
    log::debug("tokenizer: token {} '{}' looks like a control token; treating it as one", id, v.text[id]);
    v.attr[id] |= kAttrControl;
  }
}

// Sets `field` (when unset) to the first token in `texts` that exists, and marks it control.
void detect(Vocab& v, int32_t& field, const std::vector<std::string_view>& texts) {
  if (field >= 0) return;
  for (auto t : texts) {
    const int32_t id = v.find(t);
    if (id >= 0) {
      field = id;
      make_control(v, id);
      return;
    }
  }
}

void load_tokens(Vocab& v, const gguf::File& f) {
  const gguf::Value* toks = array_of(f, "tokenizer.ggml.tokens", true);
  if (toks->elem_type != gguf::ValueType::STRING)
    fail("{}: tokenizer.ggml.tokens must be an array of strings", f.path());
  const size_t n = toks->strings.size();
  if (n == 0) fail("{}: tokenizer.ggml.tokens is empty", f.path());
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max() / 2))
    fail("{}: tokenizer.ggml.tokens has an absurd size ({})", f.path(), n);

  const gguf::Value* scores = array_of(f, "tokenizer.ggml.scores", false);
  if (scores) {
    const size_t ns = scores->is_array() ? scores->array_size() : 0;
    if (scores->floats.empty() && scores->ints.empty() && ns > 0)
      fail("{}: tokenizer.ggml.scores must be an array of numbers", f.path());
    if (ns != n) {
      if (ns < n) fail("{}: tokenizer.ggml.scores has {} entries for {} tokens", f.path(), ns, n);
      log::warn("tokenizer: {}: tokenizer.ggml.scores has {} entries for {} tokens", f.path(), ns, n);
    }
  }
  const gguf::Value* types = array_of(f, "tokenizer.ggml.token_type", false);
  if (types) {
    if (types->ints.size() != types->array_size())
      fail("{}: tokenizer.ggml.token_type must be an array of integers", f.path());
    if (types->ints.size() < n)
      fail("{}: tokenizer.ggml.token_type has {} entries for {} tokens", f.path(), types->ints.size(), n);
  }

  v.text.resize(n);
  v.score.assign(n, 0.0f);
  v.attr.assign(n, kAttrNormal);
  v.token_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string word = toks->strings[i];
    if (word.empty()) {
      log::warn("tokenizer: empty token at index {}", i);
      word = "[EMPTY_" + std::to_string(i) + "]";
    }
    auto [it, inserted] = v.token_to_id.emplace(word, static_cast<int32_t>(i));
    if (!inserted)
      fail("{}: duplicate token in the vocabulary: '{}' has ids {} and {}", f.path(), word, it->second, i);
    v.text[i] = std::move(word);
    if (scores) v.score[i] = static_cast<float>(scores->floats.empty() ? scores->ints[i] : scores->floats[i]);
    if (types) v.attr[i] = attr_of_type(types->ints[i]);
  }
}

void load_merges(Vocab& v, const gguf::File& f) {
  const gguf::Value* merges = array_of(f, "tokenizer.ggml.merges", true);
  if (merges->elem_type != gguf::ValueType::STRING)
    fail("{}: tokenizer.ggml.merges must be an array of strings", f.path());
  BpeTable& t = v.bpe;
  t.symbols.reserve(v.text.size() + 2 * merges->strings.size());
  for (size_t i = 0; i < v.text.size(); ++i) t.symbol_token[t.intern(v.text[i])] = static_cast<int32_t>(i);
  t.merges.reserve(merges->strings.size());
  std::string joined;
  for (size_t i = 0; i < merges->strings.size(); ++i) {
    const std::string& m = merges->strings[i];
    const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
    if (sp == std::string::npos || sp + 1 >= m.size())
      fail("{}: tokenizer.ggml.merges[{}] = '{}' is not two symbols separated by a space", f.path(), i, m);
    const std::string_view a(m.data(), sp), b(m.data() + sp + 1, m.size() - sp - 1);
    const int32_t ia = t.intern(a), ib = t.intern(b);
    joined.assign(a);
    joined.append(b);
    const int32_t ir = t.intern(joined);
    t.merges.insert(pair_key(ia, ib), BpeTable::Merge{static_cast<int32_t>(i), ir});  // the lowest rank wins
  }
  for (int b = 0; b < 256; ++b) {
    auto it = t.symbols.find(unicode::byte_to_unicode(static_cast<uint8_t>(b)));
    t.byte_symbol[b] = it == t.symbols.end() ? -1 : it->second;
    t.single_byte_token[b] = v.find(std::string(1, static_cast<char>(b)));
  }
}

void load_special_ids(Vocab& v, const gguf::File& f) {
  for (const auto& k : kIdKeys) {
    int32_t& id = v.*(k.field);
    if (id >= v.n()) {
      log::warn("tokenizer: default special token {} = {} is out of the vocabulary; disabling it", k.key, id);
      id = -1;
    }
    const gguf::Value* val = f.find(k.key);
    if (!val) continue;
    const int64_t nid = val->as_int(fmt::format("{}: {}", f.path(), k.key));
    if (nid == -1 || nid == 0xFFFFFFFF) continue;  // how converters write "none"
    if (nid < 0 || nid >= v.n()) {
      log::warn("tokenizer: {}: bad special token {} = {} (vocabulary has {}); using {}", f.path(), k.key,
                nid, v.n(), id);
      continue;
    }
    id = static_cast<int32_t>(nid);
  }
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", v.add_bos);
  v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token", v.add_eos);
  v.add_sep = f.get_bool("tokenizer.ggml.add_sep_token", v.add_sep);
  if (v.add_bos && v.bos < 0)
    fail("{}: tokenizer.ggml.add_bos_token is true but the BOS token is not set", f.path());
  if (v.add_eos && v.eos < 0)
    fail("{}: tokenizer.ggml.add_eos_token is true but the EOS token is not set", f.path());
  if (v.add_sep && v.sep < 0)
    fail("{}: tokenizer.ggml.add_sep_token is true but the separator token is not set", f.path());
  v.wpm_lowercase = f.get_bool("tokenizer.ggml.normalizer.lowercase", v.wpm_lowercase);
  v.wpm_strip_accents = f.get_bool("tokenizer.ggml.normalizer.strip_accents", v.wpm_lowercase);
}

void detect_special(Vocab& v) {
  detect(v, v.eot, kEotTexts);
  detect(v, v.eom, kEomTexts);
  detect(v, v.fim_pre, kFimPreTexts);
  detect(v, v.fim_suf, kFimSufTexts);
  detect(v, v.fim_mid, kFimMidTexts);
  detect(v, v.fim_pad, kFimPadTexts);
  detect(v, v.fim_rep, kFimRepTexts);
  detect(v, v.fim_sep, kFimSepTexts);
  for (int32_t i = 0; i < v.n(); ++i)
    if ((v.attr[i] & kAttrControl) && v.text[i].find("unused") != std::string::npos) v.attr[i] |= kAttrUnused;

  std::vector<int32_t> eog;
  for (int32_t id : {v.fim_pad, v.fim_rep, v.fim_sep})
    if (id >= 0) eog.push_back(id);
  for (auto t : kEogTexts) {
    const int32_t id = v.find(t);
    if (id < 0) continue;
    eog.push_back(id);
    make_control(v, id);
  }
  for (auto t : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    const int32_t id = v.find(t);
    if (id >= 0) v.attr[id] = kAttrUserDefined;
  }
  for (int32_t id : {v.eos, v.eot, v.eom})
    if (id >= 0) eog.push_back(id);
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  const auto has_text = [&](std::string_view t) {
    for (int32_t id : eog)
      if (v.text[id] == t) return true;
    return false;
  };
  // o200k_harmony / solar-open: <|end|> is not an end of generation there.
  if ((has_text("<|return|>") && has_text("<|call|>") && has_text("<|end|>")) ||
      (has_text("<|calls|>") && has_text("<|flush|>") && has_text("<|end|>"))) {
    const int32_t id = v.find("<|end|>");
    eog.erase(std::remove(eog.begin(), eog.end(), id), eog.end());
    v.attr[id] = kAttrUserDefined;
  }
  if (has_text("<|tool_response>") && has_text("</s>")) {
    const int32_t id = v.find("</s>");
    eog.erase(std::remove(eog.begin(), eog.end(), id), eog.end());
    v.attr[id] = kAttrNormal;
  }
  v.eog = std::move(eog);
}

// Per-model token attributes the reference sets by name (they are not in GGUF files).
void set_name_attributes(Vocab& v, const std::string& arch) {
  std::string name = v.general_name;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto contains = [](const std::string& s, std::initializer_list<const char*> subs) {
    for (auto* x : subs)
      if (s.find(x) != std::string::npos) return true;
    return false;
  };
  const auto set = [&](std::string_view text, uint32_t a, bool on) {
    const int32_t id = v.find(text);
    if (id >= 0) v.attr[id] = on ? (v.attr[id] | a) : (v.attr[id] & ~a);
  };
  if (contains(v.pre, {"jina-v2-de", "jina-v2-es", "jina-v2-code"}) ||
      contains(arch, {"nomic-bert-moe", "jina-bert-v3"})) {
    set("<mask>", kAttrLstrip, true);
  } else if (contains(name, {"phi-3", "phi3"})) {
    for (int32_t id : v.special_order) v.attr[id] |= kAttrRstrip;
    set("</s>", kAttrRstrip, true);
    for (auto t : {"<unk>", "<s>", "<|endoftext|>"}) set(t, kAttrRstrip, false);
  } else if (contains(name, {"modern-bert"})) {
    set("[MASK]", kAttrLstrip, true);
  }
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::File& f) {
  auto v = std::make_unique<Vocab>();
  v->model = f.get_string("tokenizer.ggml.model", "");
  const std::string pre = f.get_string("tokenizer.ggml.pre", "");
  v->general_name = f.get_string("general.name", "");
  const std::string arch = f.get_string("general.architecture", "");
  if (v->model.empty()) fail("{}: the file has no tokenizer (tokenizer.ggml.model is missing)", f.path());

  PreTokenizerSpec spec;
  if (v->model == "llama") {
    v->type = VocabType::kSpm;
    v->bos = 1, v->eos = 2, v->unk = 0;
    v->add_space_prefix = true;
    v->add_bos = true;
    v->pre = "default";
  } else if (v->model == "bert") {
    v->type = VocabType::kWpm;
    v->bos = 101, v->unk = 100, v->sep = 102, v->pad = 0, v->mask = 103;
    v->add_bos = true;
    v->add_sep = true;
    v->clean_spaces = true;
    v->pre = "default";
  } else if (v->model == "gpt2") {
    v->type = VocabType::kBpe;
    v->bos = 11, v->eos = 11;
    spec = resolve_pre_tokenizer(pre);
    v->pre = spec.name.empty() ? "default" : spec.name;
    v->ignore_merges = spec.ignore_merges;
    v->clean_spaces = spec.clean_spaces;
    v->add_bos = spec.add_bos;
  } else if (v->model == "no_vocab" || v->model == "none") {
    fail("{}: the model has no vocabulary (tokenizer.ggml.model = '{}')", f.path(), v->model);
  } else {
    fail("{}: unsupported tokenizer '{}' (supported: llama, gpt2, bert)", f.path(), v->model);
  }
  v->add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix", v->add_space_prefix);

  load_tokens(*v, f);
  if (v->type == VocabType::kBpe) {
    load_merges(*v, f);
    v->pretok = std::make_unique<PreTokenizer>(spec.regexes);
  }

  v->byte_token.fill(-1);
  if (v->type == VocabType::kSpm) {
    for (const std::string& t : v->text) {
      uint64_t prev = 0;
      for (size_t off = 0; off < t.size();) {
        const size_t len = std::min(unicode::seq_len(static_cast<uint8_t>(t[off])), t.size() - off);
        const uint64_t key = spm_char_key(t, off, len);
        if (off > 0) v->spm_pairs.insert((prev << 32) | key, 1);
        prev = key;
        off += len;
      }
    }
    for (int b = 0; b < 256; ++b) {
      int32_t id = v->find(fmt::format("<0x{:02X}>", b));
      if (id < 0) id = v->find(std::string(1, static_cast<char>(b)));
      v->byte_token[b] = id;
    }
  }

  load_special_ids(*v, f);
  detect_special(*v);

  for (int32_t i = 0; i < v->n(); ++i)
    if (v->attr[i] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) v->special_order.push_back(i);
  std::stable_sort(v->special_order.begin(), v->special_order.end(),
                   [&](int32_t a, int32_t b) { return v->text[a].size() > v->text[b].size(); });
  set_name_attributes(*v, arch);
  // The tries take tens of bytes per byte of token text: bound them (real vocabularies need well
  // under a megabyte).
  constexpr size_t kMaxTrieBytes = 32u << 20;
  size_t trie_bytes = 0;
  const auto trie_insert = [&](ByteTrie& trie, int32_t id) {
    trie_bytes += v->text[id].size();
    if (trie_bytes > kMaxTrieBytes)
      fail("{}: the vocabulary's special or WordPiece tokens are absurdly large (over {} MiB of text)",
           f.path(), kMaxTrieBytes >> 20);
    trie.insert(v->text[id], id);
  };
  for (int32_t id : v->special_order) {
    if (v->text[id].size() > Vocab::kMaxTrieToken) {
      v->special_long.push_back(id);
      continue;
    }
    trie_insert(v->special_all, id);
    if (!(v->attr[id] & (kAttrControl | kAttrUnknown))) trie_insert(v->special_user, id);
  }
  if (v->type == VocabType::kWpm) {
    for (int32_t i = 0; i < v->n(); ++i) {
      if (v->text[i].size() > Vocab::kMaxTrieToken)
        v->wpm_long.push_back(i);
      else
        trie_insert(v->wpm_trie, i);
    }
    std::stable_sort(v->wpm_long.begin(), v->wpm_long.end(),
                     [&](int32_t a, int32_t b) { return v->text[a].size() > v->text[b].size(); });
  }

  v->piece.resize(v->text.size());
  for (int32_t i = 0; i < v->n(); ++i) v->piece[i] = compute_piece(*v, i);

  // The newline token (the reference's linefeed id).
  auto tok = std::unique_ptr<Tokenizer>(new Tokenizer(std::move(v)));
  Vocab& vv = *tok->v_;
  if (vv.type == VocabType::kSpm) {
    vv.nl = vv.byte_token['\n'];
  } else if (vv.type == VocabType::kWpm) {
    vv.nl = vv.pad;
  } else {
    const auto ids = tok->encode("\n", false, false);
    vv.nl = ids.empty() ? vv.pad : ids[0];
  }
  return tok;
}

}  // namespace hearth::tokenizer
