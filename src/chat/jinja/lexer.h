// chat/jinja: the lexer. Splits template source into text and tag tokens with Jinja2's whitespace
// control (`-`/`+` markers, trim_blocks, lstrip_blocks, newline normalization).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::jinja {

enum class Tok : uint8_t { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  Tok kind = Tok::Eof;
  std::string text;  // Text/Name/String(unescaped)/Op
  int64_t ival = 0;
  double fval = 0;
  int line = 1;
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Throws hearth::Error ("template syntax error, line N: ...") on malformed input.
std::vector<Token> tokenize(std::string_view source, const LexOptions& opts);

}  // namespace hearth::jinja
