// chat/jinja: the parser. Tokens -> syntax tree, with Jinja2's grammar and operator precedence.
#pragma once
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"

namespace hearth::jinja {

// Throws hearth::Error ("template syntax error, line N: ...").
Body parse(std::vector<Token> tokens);

}  // namespace hearth::jinja
