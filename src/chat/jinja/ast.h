// chat/jinja: the syntax tree the parser builds and the renderer walks.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja/value.h"

namespace hearth::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class ExprKind : uint8_t {
  Literal,   // value
  Name,      // name
  NsRef,     // name.attr as an assignment target (namespace attribute)
  List,      // items
  Tuple,     // items
  Dict,      // items as key, value, key, value, ...
  GetAttr,   // a.name
  GetItem,   // a[b]
  Slice,     // a[b:c:d] (b, c, d may be null)
  Call,      // a(args)
  Filter,    // a|name(args); a may be null inside filter blocks
  Test,      // a is name(args)
  Not,       // not a
  Neg,       // -a
  Pos,       // +a
  And,       // a and b
  Or,        // a or b
  Binary,    // a op b (op: + - * / // % **)
  Concat,    // items joined with ~
  Compare,   // a op1 items[0] op2 items[1] ... (ops)
  CondExpr,  // b if a else c
};

struct CallSpec {
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr dyn_args, dyn_kwargs;
};

struct Expr {
  ExprKind kind;
  int line = 0;
  int height = 1;                // longest path to a leaf (bounded by the parser)
  Value value;                   // Literal
  std::string name;              // Name, NsRef (namespace), GetAttr, Filter, Test; NsRef attr in `op`
  std::string op;                // Binary operator; NsRef attribute
  std::vector<std::string> ops;  // Compare operators: == != < <= > >= in notin
  ExprPtr a, b, c, d;
  std::vector<ExprPtr> items;
  CallSpec call;  // Call, Filter, Test
};

enum class StmtKind : uint8_t {
  Text,         // text
  Print,        // expr
  If,           // conds[i] -> bodies[i]; else_body
  For,          // target in expr [if cond] body else_body
  Set,          // target = expr
  SetBlock,     // target [| filter] = rendered body
  Macro,        // name(params=defaults) body
  CallBlock,    // call(params) expr: body
  FilterBlock,  // filter: body
  With,         // targets[i] = values[i]; body
  Break,
  Continue,
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;  // Text; Macro name
  ExprPtr expr;      // Print, Set, For iterable, CallBlock call, SetBlock/FilterBlock filter chain
  ExprPtr target;    // Set, SetBlock, For
  ExprPtr cond;      // For filter
  std::vector<ExprPtr> conds;
  std::vector<Body> bodies;
  Body body, else_body;
  std::vector<std::string> params;  // Macro, CallBlock
  std::vector<ExprPtr> defaults;    // Macro, CallBlock (null where no default); With values
  std::vector<ExprPtr> targets;     // With
  bool uses_varargs = false, uses_kwargs = false, uses_caller = false;
  bool recursive = false;  // For: `loop(items)` renders the body again one level deeper
};

}  // namespace hearth::jinja
