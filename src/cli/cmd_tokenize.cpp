// `hearth tokenize MODEL [TEXT]` and `hearth detokenize MODEL [IDS]`: the vocabulary of a GGUF file
// (a model or a vocabulary-only file; only the metadata is read).

#include <charconv>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/command.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace hearth::cli {

namespace {

using tokenizer::Tokenizer;
using json = nlohmann::json;

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  auto f = gguf::File::open(path, {.header_only = true});
  return Tokenizer::from_gguf(*f);
}

std::string read_all_stdin() {
  std::string s;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) s.append(buf, n);
  if (std::ferror(stdin)) fail("cannot read standard input");
  return s;
}

void write_out(const std::string& s) {
  if (!s.empty() && std::fwrite(s.data(), 1, s.size(), stdout) != s.size())
    fail("cannot write standard output");
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A token's bytes for display: valid UTF-8 as is, other bytes (a piece of a split character) as \xNN.
std::string display_piece(const std::string& p) {
  std::string out;
  size_t i = 0;
  while (i < p.size()) {
    const uint8_t b = static_cast<uint8_t>(p[i]);
    const size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= p.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<uint8_t>(p[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out.append(p, i, n);
      i += n;
    } else {
      out += fmt::format("\\x{:02X}", b);
      ++i;
    }
  }
  return out;
}

// Ids separated by white space, commas or brackets (so "1 2 3", "1,2,3" and "[1, 2, 3]" all work).
std::vector<int32_t> parse_ids(const std::string& s, const Tokenizer& tok) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '[' || c == ']') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r' && s[j] != ',' &&
           s[j] != '[' && s[j] != ']')
      ++j;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + j, v);
    if (ec != std::errc() || p != s.data() + j)
      fail("'{}' is not a token id", s.substr(i, std::min<size_t>(j - i, 40)));
    if (v < 0 || v >= tok.n_vocab())
      fail("token id {} is out of range (the vocabulary has {} tokens)", v, tok.n_vocab());
    ids.push_back(static_cast<int32_t>(v));
    i = j;
  }
  return ids;
}

struct TokenizeOptions {
  std::string model;
  std::string text;
  CLI::Option* text_opt = nullptr;
  bool raw = false, jsonl = false, pieces = false;
};

json ids_json(const Tokenizer& tok, const std::vector<int32_t>& ids, bool pieces) {
  json a = json::array();
  for (int32_t id : ids) {
    if (pieces)
      a.push_back({{"id", id}, {"piece", display_piece(tok.token_to_piece(id))}});
    else
      a.push_back(id);
  }
  return a;
}

int run_tokenize(const TokenizeOptions& o) {
  const auto tok = load_tokenizer(o.model);
  const bool special = !o.raw;  // BOS/EOS as the vocabulary asks, and special-token text parsed
  if (o.jsonl) {
    if (o.text_opt->count()) fail("--jsonl reads its input from stdin; give no TEXT");
    std::string line;
    size_t n = 0;
    while (std::getline(std::cin, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      json in;
      try {
        in = json::parse(line);
      } catch (const json::exception& e) {
        fail("stdin line {}: not JSON: {}", n, e.what());
      }
      if (!in.is_string()) fail("stdin line {}: expected a JSON string, found {}", n, in.type_name());
      const auto ids = tok->encode(in.get<std::string>(), special, special);
      write_out(dump(ids_json(*tok, ids, o.pieces)) + "\n");
    }
    return 0;
  }
  const std::string text = o.text_opt->count() ? o.text : read_all_stdin();
  const auto ids = tok->encode(text, special, special);
  std::string out;
  if (o.pieces) {
    for (int32_t id : ids)
      out += std::to_string(id) + "\t" + dump(json(display_piece(tok->token_to_piece(id)))) + "\n";
  } else {
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
    out += "\n";
  }
  write_out(out);
  return 0;
}

struct DetokenizeOptions {
  std::string model;
  std::vector<std::string> ids;
  bool raw = false, jsonl = false, no_special = false;
};

// The text of `ids`. By default the reverse of `tokenize`: the BOS/EOS the vocabulary adds are dropped
// and the text is decoded as if they were not there (so the SentencePiece space before the first word
// goes too). --raw: every token's bytes, exactly.
std::string detokenize(const Tokenizer& tok, std::vector<int32_t> ids, const DetokenizeOptions& o) {
  tokenizer::DecodeOptions d;
  d.render_special = !o.no_special;
  if (o.raw) {
    d.strip_leading_space = false;
    d.clean_spaces = false;
    return tok.decode(ids, d);
  }
  if (tok.add_bos() && !ids.empty() && ids.front() == tok.bos()) ids.erase(ids.begin());
  if (tok.add_eos() && !ids.empty() && ids.back() == tok.eos()) ids.pop_back();
  return tok.decode(ids, d);
}

int run_detokenize(const DetokenizeOptions& o) {
  const auto tok = load_tokenizer(o.model);
  if (o.jsonl) {
    if (!o.ids.empty()) fail("--jsonl reads its input from stdin; give no IDS");
    std::string line;
    size_t n = 0;
    while (std::getline(std::cin, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      json in;
      try {
        in = json::parse(line);
      } catch (const json::exception& e) {
        fail("stdin line {}: not JSON: {}", n, e.what());
      }
      if (!in.is_array()) fail("stdin line {}: expected a JSON array of token ids", n);
      std::vector<int32_t> ids;
      for (const auto& x : in) {
        if (!x.is_number_integer()) fail("stdin line {}: {} is not a token id", n, dump(x));
        const int64_t v = x.get<int64_t>();
        if (!tok->valid(static_cast<int32_t>(v)) || v != static_cast<int32_t>(v))
          fail("stdin line {}: token id {} is out of range (the vocabulary has {} tokens)", n, v,
               tok->n_vocab());
        ids.push_back(static_cast<int32_t>(v));
      }
      write_out(dump(json(detokenize(*tok, ids, o))) + "\n");
    }
    return 0;
  }
  std::string src;
  if (o.ids.empty()) {
    src = read_all_stdin();
  } else {
    for (const auto& a : o.ids) src += a + " ";
  }
  write_out(detokenize(*tok, parse_ids(src, *tok), o));
  return 0;
}

HEARTH_COMMAND(70, [](CLI::App& app) -> std::function<int()> {
  auto o = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text with a model's vocabulary");
  cmd->add_option("model", o->model, "GGUF file (a model or a vocabulary-only file)")->required();
  o->text_opt = cmd->add_option("text", o->text, "text to tokenize (default: all of stdin, byte for byte)");
  cmd->add_flag("--raw", o->raw, "add no BOS/EOS and treat special-token text as plain text");
  cmd->add_flag("--jsonl", o->jsonl,
                "read one JSON string per stdin line, print one JSON array of ids per line");
  cmd->add_flag("--pieces", o->pieces, "show each token's text (id, tab, JSON string per line)");
  return [o] { return run_tokenize(*o); };
});

HEARTH_COMMAND(71, [](CLI::App& app) -> std::function<int()> {
  auto o = std::make_shared<DetokenizeOptions>();
  auto* cmd = app.add_subcommand("detokenize", "Print the text of token ids (exactly, no newline added)");
  cmd->add_option("model", o->model, "GGUF file (a model or a vocabulary-only file)")->required();
  cmd->add_option("ids", o->ids, "token ids, separated by spaces or commas (default: read from stdin)");
  cmd->add_flag("--raw", o->raw,
                "every token's bytes exactly (BOS too; no leading-space or punctuation clean-up)");
  cmd->add_flag("--no-special", o->no_special, "hide control tokens such as <|im_start|>");
  cmd->add_flag("--jsonl", o->jsonl,
                "read one JSON array of ids per stdin line, print one JSON string per line");
  return [o] { return run_detokenize(*o); };
});

}  // namespace

}  // namespace hearth::cli
