// Unit tests of the Jinja2 engine (chat/jinja) and chat formatting (chat/chat.h).
#include "chat/jinja/jinja.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <ctime>
#include <string>

#include "base/error.h"
#include "chat/chat.h"

namespace hearth::jinja {
namespace {

using ojson = nlohmann::ordered_json;

// Like the fixtures: strftime_now() sees 2026-07-26 12:00:00.
Options test_options() {
  Options o;
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 6;
  tm.tm_mday = 26;
  tm.tm_hour = 12;
  std::time_t t = timegm(&tm);
  gmtime_r(&t, &tm);
  o.now = tm;
  return o;
}

std::string render_src(const std::string& src, const std::string& ctx = "",
                       const Options& o = test_options()) {
  return render(src, ctx.empty() ? ojson::object() : ojson::parse(ctx), o);
}

std::string error_of(const std::string& src, const std::string& ctx = "", const Options& o = test_options()) {
  try {
    std::string out = render_src(src, ctx, o);
    return "no error, rendered: " + out;
  } catch (const Error& e) {
    return e.what();
  }
}

struct Case {
  const char* src;
  const char* ctx;
  const char* expected;  // nullptr: the template raises
};

// Expected renderings produced by Python Jinja2 3.1 configured like Hugging Face transformers
// (sandboxed, trim_blocks, lstrip_blocks, loopcontrols, json.dumps-style tojson).
// clang-format off
const Case kCases[] = {
    {R"J({{ 1 }}|{{ 1.0 }}|{{ 1.5e10 }}|{{ 1e16 }}|{{ 1e-4 }}|{{ 1e-5 }}|{{ -0.0 }}|{{ 100.0 / 3 }}|{{ 0.1 + 0.2 }})J", "", R"J(1|1.0|15000000000.0|1e+16|0.0001|1e-05|-0.0|33.333333333333336|0.30000000000000004)J"},
    {R"J({{ none }}|{{ None }}|{{ true }}|{{ True }}|{{ false }}|{{ x }}|{{ [1, 'a', "b'c", 'd"e', none, true, 1.0] }})J", R"J({"x": null})J", R"J(None|None|True|True|False|None|[1, 'a', "b'c", 'd"e', None, True, 1.0])J"},
    {R"J({{ {'a': 1, 'b': [1, 2], 'c': {'d': none}} }}|{{ (1,) }}|{{ (1, 2) }}|{{ () }})J", "", R"J({'a': 1, 'b': [1, 2], 'c': {'d': None}}|(1,)|(1, 2)|())J"},
    {R"J({{ 'a\nb\tc\\d\x41\u00e9\'' }}|{{ "It's" }}|{{ 'say "hi"' }}|{{ ['It\'s', 'say "hi"'] }})J", "", R"J(a
b	c\dAé'|It's|say "hi"|["It's", 'say "hi"'])J"},
    {R"J({{ 123456789012345678 }}|{{ 1234567890123456789.0 }}|{{ 0.000123 }}|{{ 123456789.123 }}|{{ 1e15 }}|{{ 1e400 }}|{{ -1e400 }})J", "", R"J(123456789012345678|1.2345678901234568e+18|0.000123|123456789.123|1000000000000000.0|inf|-inf)J"},
    {R"J({{ 0b101 }}|{{ 0o17 }}|{{ 0xff }}|{{ 1_000 }}|{{ "a" "b" 'c' }})J", "", R"J(5|15|255|1000|abc)J"},
    {R"J({{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7 / 2 }} {{ 6 / 2 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }})J", "", R"J(3 -4 1 2 -2 1024 0.5 3.5 3.0 3.0 0.5)J"},
    {R"J({{ 1 + 2 * 3 - 4 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ 2 * 3 ** 2 }} {{ 10 % 3 ** 2 }} {{ 17 // 5 * 5 }})J", "", R"J(3 9 4 64 18 1 15)J"},
    {R"J({{ 'a' ~ 1 ~ none ~ true ~ [1] ~ 1.0 }}|{{ 1 + 2 ~ 3 * 4 }}|{{ 'a' ~ 1 + 2 }}|{{ 'x' ~ undefined_var ~ 'y' }})J", "", nullptr},
    {R"J({{ 'abc' * 3 }}|{{ 3 * 'x' }}|{{ [1, 2] * 2 }}|{{ 'x' * 0 }}|{{ 'abc' + 'def' }}|{{ [1] + [2] }}|{{ (1,) + (2,) }})J", "", R"J(abcabcabc|xxx|[1, 2, 1, 2]||abcdef|[1, 2]|(1, 2))J"},
    {R"J({{ true + 1 }}|{{ 2.0 * 3 }}|{{ 10 / 4 }}|{{ 3 - 1.5 }}|{{ 0.1 * 3 }}|{{ -x }}|{{ +x }}|{{ - - x }})J", R"J({"x": 3})J", R"J(2|6.0|2.5|1.5|0.30000000000000004|-3|3|3)J"},
    {R"J({{ 1 + 'a' }})J", "", nullptr},
    {R"J({{ 'a' + 1 }})J", "", nullptr},
    {R"J({{ 1 / 0 }})J", "", nullptr},
    {R"J({{ 1 // 0 }})J", "", nullptr},
    {R"J({{ 5 % 0 }})J", "", nullptr},
    {R"J({{ undefined_var + 1 }})J", "", nullptr},
    {R"J({{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}{{ 1 == 1.0 }}{{ 'a' < 'b' }}{{ [1, 2] < [1, 3] }}{{ 1 != 2 }}{{ 2 >= 2 }}{{ 2 <= 1 }}{{ 'a' < 'B' }})J", "", R"J(TrueFalseTrueTrueTrueTrueTrueFalseFalse)J"},
    {R"J({{ 1 == true }}{{ 0 == false }}{{ [1] == [1] }}{{ {'a': 1} == {'a': 1} }}{{ none == none }}{{ none == 0 }}{{ (1,) == [1] }}{{ x == y }})J", R"J({"x": {"a": [1, {"b": 2}]}, "y": {"a": [1, {"b": 2}]}})J", R"J(TrueTrueTrueTrueTrueFalseFalseTrue)J"},
    {R"J({{ 'a' in 'cat' }}{{ 'z' not in 'cat' }}{{ 1 in [1, 2] }}{{ 'k' in {'k': 1} }}{{ 3 not in [1] }}{{ 'x' in undefined_var }})J", "", R"J(TrueTrueTrueTrueTrueFalse)J"},
    {R"J({{ 1 < 'a' }})J", "", nullptr},
    {R"J({{ none < 1 }})J", "", nullptr},
    {R"J({{ 1 in 'abc' }})J", "", nullptr},
    {R"J({{ not 1 == 2 }}{{ not true == false }}{{ not (true == false) }}{{ true and 'x' }}{{ false and 'x' }}{{ 0 or 'y' }}{{ 'z' or 'y' }}{{ none or [] }}{{ not [] }}{{ not 'a' }})J", "", R"J(TrueTrueTruexFalseyz[]TrueFalse)J"},
    {R"J({{ 1 if true else 2 }}{{ 1 if false else 2 }}[{{ 1 if false }}]{{ 'a' if 'x' in 'xyz' else 'b' }}{{ 'p' if x is defined and x else 'q' }})J", R"J({"x": ""})J", R"J(12[]aq)J"},
    {R"J({% for v in [0, 1, 0.0, 0.5, '', 'a', [], [0], {}, {'a': 1}, none, true, false] %}{{ 'T' if v else 'F' }}{% endfor %}{% if undefined_var %}T{% else %}F{% endif %})J", "", R"J(FTFTFTFTFTFTFF)J"},
    {R"J({{ x }}|{{ x is defined }}|{{ x is undefined }}|{{ x|default('d') }}|{{ ''|default('e') }}|{{ ''|default('e', true) }}|{{ x|d('z') }}|{{ x|length }}|{{ x|list }}|{{ x|string }})J", "", R"J(|False|True|d||e|z|0|[]|)J"},
    {R"J({% if x %}yes{% else %}no{% endif %}{% for i in x %}{{ i }}{% else %}empty{% endfor %})J", "", R"J(noempty)J"},
    {R"J({{ x.y }})J", "", nullptr},
    {R"J({{ x['y'] }})J", "", nullptr},
    {R"J({{ x() }})J", "", nullptr},
    {R"J({{ x|tojson }})J", "", nullptr},
    {R"J({{ d.missing }}|{{ d['missing'] }}|{{ d.missing is defined }}|{{ d.a.b is defined }})J", R"J({"d": {"a": {}}})J", R"J(||False|False)J"},
    {R"J({{ d.x.y }})J", R"J({"d": {"x": null}})J", R"J()J"},
    {R"J({{ true and undefined_var.attr }})J", "", nullptr},
    {R"J([{{ false and undefined_var.attr }}])J", "", R"J([False])J"},
    {R"J({{ d.a }}|{{ d['a'] }}|{{ d.get('a') }}|{{ d.get('z') }}|{{ d.get('z', 5) }}|{{ d.items()|list }}|{{ d.keys()|list }}|{{ d.values()|list }})J", R"J({"d": {"a": 1, "c": 3}})J", R"J(1|1|1|None|5|[('a', 1), ('c', 3)]|['a', 'c']|[1, 3])J"},
    {R"J({{ d['items'] }}|{{ d.content[0].text }}|{{ d.a.b.c }}|{{ d.list.0 }})J", R"J({"d": {"items": 5, "content": [{"type": "text", "text": "T"}], "a": {"b": {"c": "deep"}}, "list": [7]}})J", R"J(5|T|deep|7)J"},
    {R"J({{ [1][5] }}|{{ [1]['x'] }}|{{ 'abc'[10] }}|{{ {'a': 1}[0] }}|{{ {'a': {'b': 1}}['a']['b'] }}|{{ {'a': [10, 20]}.a[1] }})J", "", R"J(||||1|20)J"},
    {R"J({{ none.x }})J", "", R"J()J"},
    {R"J({{ 'abc'() }})J", "", nullptr},
    {R"J({{ s[0] }}{{ s[-1] }}|{{ s[1:3] }}|{{ s[::-1] }}|{{ s[::2] }}|{{ s[-10:2] }}|{{ s[:] }}|{{ s[1:] }}|{{ s[:-1] }}|{{ s[-3::-2] }})J", R"J({"s": "héllo wörld"})J", R"J(hd|él|dlröw olléh|hlowrd|é|héllo wörld|éllo wörld|héllo wörl|rwolh)J"},
    {R"J({{ l[0] }}{{ l[-1] }}|{{ l[1:] }}|{{ l[:-1] }}|{{ l[::-1] }}|{{ l[::2] }}|{{ l[1:3:-1] }}|{{ l[3:0:-1] }}|{{ l[-1:-5:-2] }}|{{ l[10:] }}|{{ l[-100:1] }}|{{ (1, 2, 3)[1:] }})J", R"J({"l": [1, 2, 3, 4]})J", R"J(14|[2, 3, 4]|[1, 2, 3]|[4, 3, 2, 1]|[1, 3]|[]|[4, 3, 2]|[4, 2]|[]|[1]|(2, 3))J"},
    {R"J({{ [1, 2][::0] }})J", "", nullptr},
    {R"J({{ [1, 2]['a':] }})J", "", R"J()J"},
    {R"J({{ 1[:,1,2] }}|{{ [1,2][:, 1] }}|{{ [1,2][1:2, 0] }})J", "", R"J(||)J"},
    {R"J({{ '\u00e9' == 'é' }}|{{ 'é'|length }}|{{ '😀'|length }}|{{ '😀x'[1] }}|{{ 'éa'|upper }}|{{ 'ÉCOLE'|lower }}|{{ 'éa'|capitalize }}|{{ 'straße'.upper() }})J", "", R"J(True|1|1|x|ÉA|école|Éa|STRASSE)J"},
    {R"J({% for x in [1, 2, 3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }}{{ loop.cycle('a', 'b') }}{{ loop.depth }};{% endfor %})J", "", R"J(1032TrueFalse32a1;2121FalseFalse313b1;3210FalseTrue32a1;)J"},
    {R"J({% for x in range(10) if x is odd %}{{ x }}{% if loop.last %}!{% endif %}{{ loop.length }} {% endfor %})J", "", R"J(15 35 55 75 9!5 )J"},
    {R"J({% for x in range(10) %}{% if x == 3 %}{% continue %}{% endif %}{% if x == 6 %}{% break %}{% endif %}{{ x }}{% endfor %})J", "", R"J(01245)J"},
    {R"J({% for x in [1, 2] %}{% for y in [3, 4] %}{% if y == 4 %}{% break %}{% endif %}{{ x }}{{ y }}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %})J", "", R"J(13112312)J"},
    {R"J({% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %})J", R"J({"d": {"b": 1, "a": 2}})J", R"J(b=1;a=2;ba37)J"},
    {R"J({% for c in 'héy' %}[{{ c }}]{% endfor %}{% for x in [] %}a{% else %}none{% endfor %}{% for x in [1] if x > 5 %}a{% else %}filtered{% endfor %})J", "", R"J([h][é][y]nonefiltered)J"},
    {R"J({% for x in [1, 2, 3] %}{{ loop.changed(x % 2) }}{% endfor %})J", "", R"J(TrueTrueTrue)J"},
    {R"J({% for x in tree recursive %}<{{ x.n }}{{ loop.depth }}{% if x.c %}[{{ loop(x.c) }}]{% endif %}>{% endfor %})J", R"J({"tree": [{"n": "a", "c": [{"n": "b", "c": [{"n": "c"}]}, {"n": "d"}]}, {"n": "e"}]})J", R"J(<a1[<b2[<c3>]><d2>]><e1>)J"},
    {R"J({% for a, b in [[1, 2, 3]] %}{{ a }}{% endfor %})J", "", nullptr},
    {R"J({% for x in 5 %}{% endfor %})J", "", nullptr},
    {R"J({% for x in none %}{% endfor %})J", "", nullptr},
    {R"J({% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 10 %}{{ x }};{% endfor %}{{ x }})J", "", R"J(111;111;1)J"},
    {R"J({% for a in [1, 2] %}{% if loop.first %}{% set q = 1 %}{% endif %}[{{ q }}]{% endfor %})J", "", R"J([1][])J"},
    {R"J({% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }})J", "", R"J(2)J"},
    {R"J({% if x == 1 %}one{% elif x == 2 %}two{% elif x == 3 %}three{% else %}other{% endif %})J", R"J({"x": 3})J", R"J(three)J"},
    {R"J({% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = (3, 4) %}{{ c }}{% set (d, e) = [5, 6] %}{{ d + e }})J", "", R"J(12(3, 4)11)J"},
    {R"J({% set x %}block {{ 1 + 1 }}{% endset %}[{{ x }}]{% set y | upper | replace('U', 'u') %}up{% endset %}{{ y }})J", "", R"J([block 2]uP)J"},
    {R"J({% set ns = namespace(a=1, b=[]) %}{% set ns.a = ns.a + 1 %}{{ ns.a }}{{ ns.b }}{{ ns }}{{ ns.missing }}{{ ns['a'] }})J", "", R"J(2[]<Namespace {'a': 2, 'b': []}>2)J"},
    {R"J({% set ns = namespace(found=false) %}{% for m in messages %}{% if m.role == 'system' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }})J", R"J({"messages": [{"role": "system", "content": "S"}]})J", R"J(True)J"},
    {R"J({% set ns = namespace(parts=[]) %}{% for m in ['a', 'b'] %}{% set ns.parts = ns.parts + [m] %}{% endfor %}{{ ns.parts }}{{ namespace({'k': 2}).k }})J", "", R"J(['a', 'b']2)J"},
    {R"J({% set x = 1 %}{% set x.y = 2 %})J", "", nullptr},
    {R"J({% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]{% filter upper %}hello {{ 'w' }}{% endfilter %})J", "", R"J(3[]HELLO W)J"},
    {R"J({% macro m(a, b=2, c='x') %}{{ a }}-{{ b }}-{{ c }}{% endmacro %}{{ m(1) }}|{{ m(1, 3) }}|{{ m(1, c=5) }}|{{ m(a=0) }}|{{ m() }}|{{ m }})J", "", R"J(1-2-x|1-3-x|1-2-5|0-2-x|-2-x|<Macro 'm'>)J"},
    {R"J({% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }})J", "", R"J(1(2, 3){'x': 4})J"},
    {R"J({% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }})J", "", nullptr},
    {R"J({% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, z=2) }})J", "", nullptr},
    {R"J({% macro outer() %}[{{ caller() }}]{% endmacro %}{% call outer() %}inside{% endcall %})J", "", R"J([inside])J"},
    {R"J({% macro list_items(items) %}{% for i in items %}<{{ caller(i) }}>{% endfor %}{% endmacro %}{% call(item) list_items([1, 2]) %}item {{ item }}{% endcall %})J", "", R"J(<item 1><item 2>)J"},
    {R"J({% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }})J", "", R"J(120)J"},
    {R"J({% macro m() %}{{ g }}{% endmacro %}{{ m() }}{% set g = 'global' %}{{ m() }})J", "", R"J(global)J"},
    {R"J({% macro m(x) -%}
  [{{ x }}]
{%- endmacro %}
{{ m(1) }}
{{ m(2) }})J", "", R"J([1]
[2])J"},
    {R"J({% macro m(a, b=a * 2) %}{{ b }}{% endmacro %}{{ m(3) }})J", "", R"J(6)J"},
    {R"J({{ '  hi  '|trim }}|{{ 'xxhixx'|trim('x') }}|{{ 'Hello'|upper }}|{{ 'Hello'|lower }}|{{ 'hello world-foo(bar'|title }}|{{ 'hELLO wORLD'|capitalize }})J", "", R"J(hi|hi|HELLO|hello|Hello World-Foo(Bar|Hello world)J"},
    {R"J({{ [3, 1, 2]|sort }}{{ [3, 1, 2]|sort(reverse=true) }}{{ ['b', 'A', 'c']|sort }}{{ ['b', 'A', 'c']|sort(case_sensitive=true) }})J", "", R"J([1, 2, 3][3, 2, 1]['A', 'b', 'c']['A', 'b', 'c'])J"},
    {R"J({{ users|sort(attribute='age')|map(attribute='name')|join(', ') }}|{{ users|selectattr('age', 'gt', 25)|map(attribute='name')|list }}|{{ users|rejectattr('admin')|map(attribute='name')|list }}|{{ users|selectattr('admin')|list|length }}|{{ users|selectattr('name', 'equalto', 'al')|first }})J", R"J({"users": [{"name": "bob", "age": 30, "admin": true}, {"name": "al", "age": 20}, {"name": "cy", "age": 25, "admin": false}]})J", R"J(al, cy, bob|['bob']|['al', 'cy']|1|{'name': 'al', 'age': 20})J"},
    {R"J({{ [1, 2, 3, 4]|select('odd')|list }}{{ [1, 2, 3, 4]|reject('even')|list }}{{ [0, 1, '', 'a']|select|list }}{{ [1, 2, 3]|select('>', 1)|list }}{{ ['a', 'b']|select('in', ['a'])|list }}{{ none|selectattr('x')|list }})J", "", R"J([1, 3][1, 3][1, 'a'][2, 3]['a'][])J"},
    {R"J({{ [1, 2, 3]|join }}|{{ [1, 2, 3]|join('-') }}|{{ [1, 2]|first }}|{{ [1, 2]|last }}|{{ []|first }}|{{ [1, 2, 3]|sum }}|{{ [1, 5, 3]|max }}|{{ [4, 2, 8]|min }}|{{ ['a', 'B']|max }}|{{ [{'x': 'a'}, {'x': 'b'}]|join('|', attribute='x') }})J", "", R"J(123|1-2-3|1|2||6|5|2|B|a|b)J"},
    {R"J({{ [1, 2, 2, 3, 1]|unique|list }}{{ ['a', 'A', 'b']|unique|list }}{{ [1, 2, 3]|reverse|list }}{{ 'abc'|reverse }}{{ 'abc'|list }}{{ {'a': 1}|list }})J", "", R"J([1, 2, 3]['a', 'b'][3, 2, 1]cba['a', 'b', 'c']['a'])J"},
    {R"J({{ {'b': 1, 'a': 2}|dictsort }}{{ {'b': 1, 'a': 2}|dictsort(by='value') }}{{ {'b': 1, 'a': 2}|dictsort(reverse=true) }}{{ {'b': 1, 'a': 2}|items|list }}{{ undefined_var|items|list }})J", "", R"J([('a', 2), ('b', 1)][('b', 1), ('a', 2)][('b', 1), ('a', 2)][('b', 1), ('a', 2)][])J"},
    {R"J({{ 'a\nb\n\nc'|indent }}|{{ 'a\nb\n\nc'|indent(2, true) }}|{{ 'a\nb\n\nc'|indent(2, blank=true) }}|{{ 'a\nb'|indent('>> ', first=true) }}|{{ 'a\n'|indent }})J", "", R"J(a
    b

    c|  a
  b

  c|a
  b
  
  c|>> a
>> b|a
)J"},
    {R"J({{ '42'|int }}{{ '4.7'|int }}{{ 'x'|int }}{{ 'x'|int(-1) }}{{ 3.9|int }}{{ '0x1A'|int(0, 16) }}{{ true|int }}{{ '  12 '|int }}|{{ '3'|float }}{{ 'x'|float }}{{ 4|float }}{{ '1e3'|float }})J", "", R"J(4240-1326112|3.00.04.01000.0)J"},
    {R"J({{ 3.14159|round(2) }}{{ 2.5|round }}{{ 3.5|round }}{{ 2.675|round(2) }}{{ 3.1|round(0, 'ceil') }}{{ 3.9|round(method='floor') }}{{ -2.5|round }})J", "", R"J(3.142.04.02.674.03.0-2.0)J"},
    {R"J({{ -5|abs }}{{ -2.5|abs }}{{ 'abc'|length }}{{ [1, 2]|count }}{{ {'a': 1}|length }}{{ 'a b  c'|wordcount }}{{ 'ab'|center(6) }}|{{ 'abc'|center(6) }}|)J", "", R"J(52.53213  ab  | abc  |)J"},
    {R"J({{ [1, 2, 3, 4, 5]|batch(2)|list }}{{ [1, 2, 3, 4, 5]|batch(2, 'x')|list }}{{ [1, 2, 3, 4, 5]|slice(2)|list }})J", "", R"J([[1, 2], [3, 4], [5]][[1, 2], [3, 4], [5, 'x']][[1, 2, 3], [4, 5]])J"},
    {R"J({{ '<a href="x">&\'</a>'|escape }}{{ '<b>'|e }}{{ ('<b>'|safe) + '<i>' }}{{ ('%s'|safe) % '<' }})J", "", R"J(&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;&lt;b&gt;<b>&lt;i&gt;&lt;)J"},
    {R"J({{ 'hello world'|replace('o', '0') }}{{ 'aaa'|replace('a', 'b', 2) }}{{ 'abc'|replace('', '-') }})J", "", R"J(hell0 w0rldbba-a-b-c-)J"},
    {R"J({{ 'foo bar baz qux'|truncate(9) }}|{{ 'foo bar baz qux'|truncate(9, True) }}|{{ 'foo bar baz qux'|truncate(11) }}|{{ 'foo bar baz qux'|truncate(11, False, '...', 0) }})J", "", R"J(foo...|foo ba...|foo bar baz qux|foo bar...)J"},
    {R"J({{ ([1, 2]|map('string')|list) }}{{ ['a', 'b']|map('upper')|join }}{{ [1.5, 2.5]|map('int')|list }}{{ x|map(attribute='a', default='z')|list }}{{ x|map(attribute='c.0')|list }})J", R"J({"x": [{"a": 1, "c": [7]}, {"b": 1, "c": [8]}]})J", R"J(['1', '2']AB[1, 2][1, 'z'][7, 8])J"},
    {R"J({{ [{'g': 'x', 'v': 1}, {'g': 'y', 'v': 2}, {'g': 'x', 'v': 3}]|groupby('g') }}{{ range(3)|sum }}{{ [[1], [2]]|sum(start=[]) }}{{ x|sum(attribute='v') }})J", R"J({"x": [{"v": 1}, {"v": 2}]})J", R"J([('x', [{'g': 'x', 'v': 1}, {'g': 'x', 'v': 3}]), ('y', [{'g': 'y', 'v': 2}])]3[1, 2]3)J"},
    {R"J({{ '<p>Hi <b>there</b></p>  x'|striptags }}|{{ 'a b/c?d=é'|urlencode }}|{{ x|pprint }}|{{ 1|string }}{{ none|string }}{{ [1]|string }}{{ 'abc'|attr('upper')() }})J", R"J({"x": {"a": [1, "s"]}})J", R"J(Hi there x|a%20b/c%3Fd%3D%C3%A9|{'a': [1, 's']}|1None[1]ABC)J"},
    {R"J({{ '%s, %s!'|format('Hello', 'World') }}|{{ 'x'|default }}|{{ undefined_var|default|length }}|{{ x | default(none) is none }})J", "", R"J(Hello, World!|x|0|True)J"},
    {R"J({{ x | nosuchfilter }})J", "", nullptr},
    {R"J({{ x|tojson }})J", "{\"x\": {\"a\": [1, 2.5, \"é\\n\\\"\\\\\", null, true], \"b\": {}, \"c\": [], \"d\": \"\\u0001\177<>&'\", \"e\": 1.0}}", "{\"a\": [1, 2.5, \"é\\n\\\"\\\\\", null, true], \"b\": {}, \"c\": [], \"d\": \"\\u0001\177<>&'\", \"e\": 1.0}"},
    {R"J({{ x|tojson(indent=2) }}|{{ x|tojson(indent=0) }}|{{ x|tojson(separators=(',', ':')) }}|{{ x|tojson(sort_keys=true) }}|{{ x|tojson(ensure_ascii=true) }}|{{ x|tojson(indent='\t') }})J", R"J({"x": {"b": [1, {"z": 1, "y": [2]}], "a": "é😀", "e": []}})J", R"J({
  "b": [
    1,
    {
      "z": 1,
      "y": [
        2
      ]
    }
  ],
  "a": "é😀",
  "e": []
}|{
"b": [
1,
{
"z": 1,
"y": [
2
]
}
],
"a": "é😀",
"e": []
}|{"b":[1,{"z":1,"y":[2]}],"a":"é😀","e":[]}|{"a": "é😀", "b": [1, {"y": [2], "z": 1}], "e": []}|{"b": [1, {"z": 1, "y": [2]}], "a": "\u00e9\ud83d\ude00", "e": []}|{
	"b": [
		1,
		{
			"z": 1,
			"y": [
				2
			]
		}
	],
	"a": "é😀",
	"e": []
})J"},
    {R"J({{ 1.0|tojson }}{{ 1e20|tojson }}{{ 0.1|tojson }}{{ 'x'|tojson }}{{ none|tojson }}{{ (1, 2)|tojson }}{{ {1: 'int key', none: 'n'}|tojson }})J", "", R"J(1.01e+200.1"x"null[1, 2]{"1": "int key", "null": "n"})J"},
    {R"J({{ x is none }}{{ x is not none }}{{ 1 is number }}{{ 1.5 is float }}{{ 1 is integer }}{{ true is integer }}{{ true is boolean }}{{ 'a' is string }}{{ {} is mapping }}{{ [] is sequence }}{{ 'a' is iterable }}{{ 1 is iterable }}{{ none is true }}{{ true is true }}{{ false is false }})J", R"J({"x": null})J", R"J(TrueFalseTrueTrueTrueFalseTrueTrueTrueTrueTrueFalseFalseTrueTrue)J"},
    {R"J({{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(2) }}{{ 'a' is in 'abc' }}{{ 1 is eq 1 }}{{ 1 is equalto 2 }}{{ 2 is gt 1 }}{{ 1 is lt 1 }}{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ 1 is ne 2 }}{{ none is sameas none }}{{ 2 is ge 2 }}{{ 2 is le 1 }}{{ 1 is == 1 }})J", "", nullptr},
    {R"J({{ 'upper' is filter }}{{ 'nope' is filter }}{{ 'odd' is test }}{{ range is callable }}{{ 1 is callable }})J", "", R"J(TrueFalseTrueTrueFalse)J"},
    {R"J({{ x is nosuchtest }})J", "", nullptr},
    {R"J({{ 'a,b,,c'.split(',') }}{{ ' a  b '.split() }}{{ 'a b c'.split(' ', 1) }}{{ 'a,b,c'.rsplit(',', 1) }}{{ '  a b c '.rsplit(none, 1) }}{{ '   1   2   3   '.split(none, 1) }}|{{ '  x '.strip() }}|{{ 'xxyxx'.strip('x') }}|{{ '  x '.lstrip() }}|{{ '  x '.rstrip() }}|)J", "", R"J(['a', 'b', '', 'c']['a', 'b']['a', 'b c']['a,b', 'c']['  a b', 'c']['1', '2   3   ']|x|y|x |  x|)J"},
    {R"J({{ 'abc'.startswith('a') }}{{ 'abc'.endswith('bc') }}{{ 'abc'.startswith(('x', 'a')) }}{{ 'abc'.startswith('b', 1) }}{{ 'Hello'.upper() }}{{ 'Hello'.lower() }}{{ 'hello world'.title() }}{{ 'hello'.capitalize() }}{{ 'a-b'.replace('-', '+') }})J", "", R"J(TrueTrueTrueTrueHELLOhelloHello WorldHelloa+b)J"},
    {R"J({{ 'hello'.find('l') }}{{ 'hello'.rfind('l') }}{{ 'hello'.find('z') }}{{ 'hello'.count('l') }}{{ 'héllo'.find('l') }}{{ 'hello'.index('e') }}{{ 'hello'.find('l', 3) }})J", "", R"J(23-12213)J"},
    {R"J({{ 'hello'.index('z') }})J", "", nullptr},
    {R"J({{ '{} and {}'.format(1, 'b') }}|{{ '{0}{1}{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='x') }}|{{ '{:>5}|{:<4}|{:^7}|{:05d}|{:.2f}|{:,}|{:x}|{!r}'.format('a', 'b', 'c', 42, 3.14159, 1234567, 255, 'q') }})J", "", R"J(1 and b|aba|x!|    a|b   |   c   |00042|3.14|1,234,567|ff|'q')J"},
    {R"J({{ '%s and %s' % ('a', 1) }}|{{ '%d%%' % 50 }}|{{ '%5.2f|%-5s|%05d|%x|%r' % (3.14159, 'ab', 42, 255, 'q') }}|{{ '%(a)s-%(b)d' % {'a': 'x', 'b': 2} }}|{{ '%s' % [1, 2] }}|{{ '%.3e' % 12345.678 }}|{{ '%g' % 0.00001 }}|{{ '%+d' % 5 }}|{{ '%c' % 65 }}|{{ '%#x' % 255 }})J", "", R"J(a and 1|50%| 3.14|ab   |00042|ff|'q'|x-2|[1, 2]|1.235e+04|1e-05|+5|A|0xff)J"},
    {R"J({{ '%s %s' % ('a',) }})J", "", nullptr},
    {R"J({{ ', '.join(['a', 'b']) }}{{ 'x'.join('abc') }}{{ 'ab'.zfill(5) }}{{ 'a'.ljust(3, '*') }}{{ 'a'.rjust(3) }}{{ 'a b'.partition(' ') }}{{ 'abc'.isalpha() }}{{ '123'.isdigit() }}{{ ' '.isspace() }}{{ 'AB'.isupper() }}{{ 'ab'.islower() }})J", "", R"J(a, baxbxc000aba**  a('a', ' ', 'b')TrueTrueTrueTrueTrue)J"},
    {R"J({{ 'a\n\nb'.splitlines() }}{{ 'a\r\nb\rc'.splitlines() }}{{ '\n'.join(['a', 'b']) }})J", "", R"J(['a', '', 'b']['a', 'b', 'c']a
b)J"},
    {R"J({% set content = '<think>abc</think>answer' %}{{ content.split('</think>')[-1].lstrip('\n') }}{{ content.split('<think>')[1].split('</think>')[0] }})J", "", R"J(answerabc)J"},
    {R"J({{ [1, 2, 3].index(2) }}{{ [1, 1, 2].count(1) }}{{ [1, 2].copy() }}{% set d = {'a': 1} %}{{ d.copy() }}{{ 'a' in d.keys() }}{{ 1 in d.values() }})J", "", R"J(12[1, 2]{'a': 1}TrueTrue)J"},
    {R"J({{ [].append(1) }})J", "", nullptr},
    {R"J({{ {}.update({'a': 1}) }})J", "", nullptr},
    {R"J({% set l = [1] %}{{ l.pop() }})J", "", nullptr},
    {R"J({{ range(5)|list }}{{ range(2, 5)|list }}{{ range(0, 10, 3)|list }}{{ range(5, 0, -2)|list }}{{ range(0)|list }})J", "", R"J([0, 1, 2, 3, 4][2, 3, 4][0, 3, 6, 9][5, 3, 1][])J"},
    {R"J({{ range(100001)|length }})J", "", nullptr},
    {R"J({{ dict(a=1, b=2) }}{{ dict({'x': 1}, y=2) }}{{ dict([('k', 'v')]) }}{% set j = joiner(', ') %}{% for x in [1, 2, 3] %}{{ j() }}{{ x }}{% endfor %})J", "", R"J({'a': 1, 'b': 2}{'x': 1, 'y': 2}{'k': 'v'}1, 2, 3)J"},
    {R"J({{ raise_exception('boom') }})J", "", nullptr},
    {R"J({{ strftime_now('%Y-%m-%d %H:%M %B %d %b %A') }})J", "", R"J(2026-07-26 12:00 July 26 Jul Sunday)J"},
    {R"J({{ x.__class__ }}|{{ ''.__class__ }}|{{ x.__init__ }})J", R"J({"x": {"a": 1}})J", R"J(||)J"},
    {R"J({{ ''.__class__.__mro__ }})J", "", nullptr},
    {R"J({{ x.__init__.__globals__ }})J", R"J({"x": {"a": 1}})J", nullptr},
    {R"J({{ range.__globals__['os'] }})J", "", nullptr},
    {R"J(a
  {% if true %}
  b
  {% endif %}
c)J", "", R"J(a
  b
c)J"},
    {R"J(  {% for x in [1, 2] %}
    {{ x }}
  {% endfor %}
)J", "", R"J(    1
    2
)J"},
    {R"J({% if true %}  x  {% endif %}
   {# c #}   
x
)J", "", R"J(  x     
x)J"},
    {R"J({%- if true -%}
  a
{%- endif -%}
  b)J", "", R"J(ab)J"},
    {R"J(  {%+ if true %}a{% endif %}
{% if true +%}
a{% endif %})J", "", R"J(  a
a)J"},
    {R"J(x {%- if true %} y {% endif -%} z)J", "", R"J(x y z)J"},
    {R"J({{- 'a' -}}
  {{- 'b' }}  
{{ 'c' }})J", "", R"J(ab  
c)J"},
    {R"J({% raw -%}
  {{ x }}
{%- endraw %}|  {% raw %}
  {{ y }}
  {% endraw %}
next)J", "", R"J({{ x }}|  
  {{ y }}
next)J"},
    {R"J({# multi
line
comment #}
after
text {#- comment -#} text)J", "", R"J(after
texttext)J"},
    {R"J(line1
{% set x = 1 %}
{%- if x %}
	{% if true %}tab{% endif %}
{% endif %}
)J", "", R"J(line1
tab)J"},
    {R"J(a {% if true %}b{% endif %} c
  {% set q = 1 %}  d
{{ 'e' }}
{{ 'f' }}
)J", "", R"J(a b c
  d
e
f)J"},
    {R"J({{ '}}' }}{{ {'a': '}}'}['a'] }}{{ [1,
  2] }})J", "", R"J(}}}}[1, 2])J"},
    {"crlf\015\nline\015\n", "", R"J(crlf
line)J"},
    {R"J({{ 1 + }})J", "", nullptr},
    {R"J({% if %}{% endif %})J", "", nullptr},
    {R"J({% if true %})J", "", nullptr},
    {R"J({% endif %})J", "", nullptr},
    {R"J({% foo %})J", "", nullptr},
    {R"J({{ 'unterminated }})J", "", nullptr},
    {R"J({{ x ]] }})J", "", nullptr},
    {R"J({% set 1 = 2 %})J", "", nullptr},
    {R"J({% macro m(a=1, b) %}{% endmacro %})J", "", nullptr},
    {R"J({% break %})J", "", nullptr},
    {R"J({{ 1 2 }})J", "", nullptr},
    {R"J({# never closed)J", "", nullptr},
    {R"J({% include 'x.html' %})J", "", nullptr},
    {R"J({% for x in [1] %}{% macro m() %}{% break %}{% endmacro %}{% endfor %})J", "", nullptr},
};
// clang-format on

TEST(Jinja, MatchesPythonJinja2) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.src);
    if (c.expected) {
      try {
        EXPECT_EQ(render_src(c.src, c.ctx), c.expected);
      } catch (const Error& e) {
        ADD_FAILURE() << "unexpected error: " << e.what();
      }
    } else {
      EXPECT_THROW(render_src(c.src, c.ctx), Error);
    }
  }
}

TEST(Jinja, ErrorsNameTheLine) {
  EXPECT_NE(error_of("a\nb\n{{ x.y }}").find("line 3"), std::string::npos) << error_of("a\nb\n{{ x.y }}");
  EXPECT_NE(error_of("{% if true %}\n\n{{ 1 + }}").find("line 3"), std::string::npos);
  std::string e = error_of("x\n{{ raise_exception('Only user and assistant roles are supported!') }}");
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("Only user and assistant roles are supported!"), std::string::npos) << e;
  EXPECT_NE(error_of("{% for x in [1] %}\n{% endif %}").find("syntax error"), std::string::npos);
}

TEST(Jinja, SandboxRefusesInternalsAndMutation) {
  EXPECT_NE(error_of("{{ ''.__class__.__mro__ }}").find("unsafe"), std::string::npos);
  EXPECT_NE(error_of("{{ x.__init__.__globals__ }}", R"({"x": {}})").find("unsafe"), std::string::npos);
  EXPECT_NE(error_of("{{ ''.__class__() }}").find("unsafe"), std::string::npos);
  EXPECT_EQ(render_src("[{{ ''.__class__ }}]"), "[]");  // like Jinja2: prints as undefined
  EXPECT_NE(error_of("{% set l = [] %}{{ l.append(1) }}").find("unsafe"), std::string::npos);
  EXPECT_NE(error_of("{% set d = {} %}{{ d.update({'a': 1}) }}").find("unsafe"), std::string::npos);
  EXPECT_NE(error_of("{% include 'secret.txt' %}").find("not supported"), std::string::npos);
}

TEST(Jinja, MutationWhenAllowed) {
  Options o = test_options();
  o.allow_mutation = true;
  EXPECT_EQ(
      render_src(
          "{% set l = [1] %}{% set _ = l.append(2) %}{% set _ = l.extend([3]) %}{{ l }}{{ l.pop(0) }}{{ l }}",
          "", o),
      "[1, 2, 3]1[2, 3]");
  EXPECT_EQ(render_src("{% set d = {'a': 1} %}{% set _ = d.update({'b': 2}) %}{{ d }}{{ d.pop('a') }}{{ d }}",
                       "", o),
            "{'a': 1, 'b': 2}1{'b': 2}");
  EXPECT_EQ(
      render_src("{% set q = namespace(ids=[]) %}{% set _ = q.ids.append('x') %}{{ q.ids.pop(0) }}", "", o),
      "x");
  EXPECT_THROW(render_src("{% set l = [] %}{% set _ = l.append(l) %}", "", o), Error);  // no reference cycles
  EXPECT_THROW(render_src("{% set l = [] %}{% set m = [l] %}{% set _ = l.append(m) %}", "", o), Error);
}

TEST(Jinja, NamespaceCannotContainItself) {
  EXPECT_THROW(render_src("{% set ns = namespace() %}{% set ns.me = ns %}"), Error);
  EXPECT_THROW(render_src("{% set ns = namespace() %}{% set ns.l = [1, [ns]] %}"), Error);
}

TEST(Jinja, GenerationTagRendersItsBody) {
  EXPECT_EQ(render_src("a{% generation %}b{{ 1 + 1 }}{% endgeneration %}c"), "ab2c");
}

TEST(Jinja, ContextKeyOrderIsKept) {
  ojson ctx = ojson::parse(R"({"tool": {"type": "function", "function": {"name": "f", "b": 1, "a": 2}}})");
  EXPECT_EQ(render("{{ tool|tojson }}", ctx),
            R"({"type": "function", "function": {"name": "f", "b": 1, "a": 2}})");
  EXPECT_EQ(render("{% for k in tool.function %}{{ k }}{% endfor %}", ctx), "nameba");
  nlohmann::json sorted = nlohmann::json::parse(ctx.dump());
  EXPECT_EQ(Template("{{ tool.function|tojson }}").render(sorted), R"({"a": 2, "b": 1, "name": "f"})");
}

TEST(Jinja, TemplateRendersRepeatedly) {
  Template t("{% for m in messages %}{{ m }};{% endfor %}{{ n }}");
  for (int i = 0; i < 3; ++i) {
    ojson ctx = {{"messages", {i, i + 1}}, {"n", "x"}};
    EXPECT_EQ(t.render(ctx), std::to_string(i) + ";" + std::to_string(i + 1) + ";x");
  }
  EXPECT_THROW(t.render(ojson::array()), Error);  // the context must be an object
}

TEST(Jinja, KeepTrailingNewlineOption) {
  Options o = test_options();
  EXPECT_EQ(render_src("a\n", "", o), "a");
  o.keep_trailing_newline = true;
  EXPECT_EQ(render_src("a\n", "", o), "a\n");
  o.trim_blocks = false;
  o.lstrip_blocks = false;
  EXPECT_EQ(render_src("  {% if true %}\nx{% endif %}", "", o), "  \nx");
}

// ---- hostile templates: each fails fast with an error and bounded memory ----

long max_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

void expect_fails_fast(const std::string& src) {
  SCOPED_TRACE(src.substr(0, 120));
  long rss0 = max_rss_kb();
  std::clock_t c0 = std::clock();
  std::string err = error_of(src);
  double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  EXPECT_EQ(err.rfind("no error", 0), std::string::npos) << err;
  EXPECT_LT(cpu, 1.0) << err;
  EXPECT_LT(max_rss_kb() - rss0, 400 * 1024) << err;  // KiB
}

TEST(JinjaHostile, InfiniteMacroRecursion) {
  expect_fails_fast("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}");
  expect_fails_fast("{% macro f(n) %}{{ f(n + 1) ~ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  expect_fails_fast(
      "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}");
  expect_fails_fast(
      "{% macro a() %}{{ caller() }}{% endmacro %}{% macro f() %}{% call a() %}{{ f() }}{% endcall %}{% "
      "endmacro %}{{ f() }}");
}

TEST(JinjaHostile, HugeRangesAndLoops) {
  expect_fails_fast("{{ range(10**9)|length }}");
  expect_fails_fast("{% for i in range(10**9) %}{% endfor %}");
  expect_fails_fast("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
  expect_fails_fast(
      "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}");
  expect_fails_fast(
      "{% set ns = namespace(x=0) %}{% for i in range(100000) %}{% for j in range(100000) %}"
      "{% set ns.x = ns.x + j %}{% endfor %}{% endfor %}");
}

TEST(JinjaHostile, DoublingStringsAndLists) {
  expect_fails_fast(
      "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
  expect_fails_fast(
      "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}");
  expect_fails_fast(
      "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}");
  expect_fails_fast(
      "{% set ns = namespace(x=1) %}{% for i in range(80) %}{% set ns.x = [ns.x, ns.x] %}{% endfor %}"
      "{{ ns.x|tojson }}");
  expect_fails_fast(
      "{% set ns = namespace(x=1) %}{% for i in range(80) %}{% set ns.x = [ns.x, ns.x] %}{% endfor %}"
      "{{ ns.x }}");
  expect_fails_fast(
      "{% set ns = namespace(x=1, y=1) %}{% for i in range(80) %}{% set ns.x = [ns.x, ns.x] %}"
      "{% set ns.y = [ns.y, ns.y] %}{% endfor %}{{ ns.x == ns.y }}");
}

TEST(JinjaHostile, HugeRepetition) {
  expect_fails_fast("{{ 'x' * 10**12 }}");
  expect_fails_fast("{{ 'x' * 10**7 * 10 }}");
  expect_fails_fast("{{ [1] * 10**9 }}");
  expect_fails_fast("{{ 'ab'|center(10**12) }}");
  expect_fails_fast("{{ '{:>1000000000}'.format('x') }}");
  expect_fails_fast("{{ '%1000000000d' % 1 }}");
  expect_fails_fast("{{ 2 ** 10 ** 10 }}");
  expect_fails_fast("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}");
}

TEST(JinjaHostile, RepeatedBulkWork) {
  expect_fails_fast("{% set l = range(100000)|list %}{% for i in l %}{% set x = l|sort %}{% endfor %}");
  expect_fails_fast("{% set l = range(100000)|list %}{% for i in l %}{% set x = l|join %}{% endfor %}");
  expect_fails_fast(
      "{% set s = 'x' * 1000000 %}{% for i in range(100000) %}{% set t = s.upper() %}{% endfor %}");
  expect_fails_fast(
      "{% set s = 'a ' * 1000000 %}{% for i in range(100000) %}{% set t = s.split() %}{% endfor %}");
  expect_fails_fast(
      "{% set s = 'a' * 10000000 %}{% for i in range(100000) %}{% set t = s == s ~ '' %}{% endfor %}");
  expect_fails_fast(
      "{% set s = '\u00e9' * 5000000 %}{% for i in range(100000) %}{% set t = s[-1] %}{% endfor %}");
  expect_fails_fast(
      "{% set s = '\n' * 10000000 %}{% for i in range(100000) %}{% set t = s|indent %}{% endfor %}");
  expect_fails_fast("{% set s = 'x' * 10000000 %}{% for c in s %}{% endfor %}");
  expect_fails_fast(
      "{% set k = 'k' * 10000000 %}{% set d = {k: 1} %}{% for i in range(100000) %}{{ d[k] }}{% endfor %}");
}

TEST(JinjaHostile, DeepNestingIsRefused) {
  expect_fails_fast("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}");
  expect_fails_fast("{{ " + std::string(5000, '[') + std::string(5000, ']') + " }}");
  std::string chain = "{{ a";
  for (int i = 0; i < 100000; ++i) chain += ".b";
  expect_fails_fast(chain + " }}");
  std::string sum = "{{ 1";
  for (int i = 0; i < 100000; ++i) sum += " + 1";
  expect_fails_fast(sum + " }}");
  std::string ifs;
  for (int i = 0; i < 5000; ++i) ifs += "{% if true %}";
  expect_fails_fast(ifs);
  std::string nots = "{{ ";
  for (int i = 0; i < 100000; ++i) nots += "not ";
  expect_fails_fast(nots + "1 }}");
  // A deeply nested value (built in a loop) can be made and freed, but not printed.
  const char* nest =
      "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}";
  EXPECT_EQ(render_src(std::string(nest) + "done"), "done");
  expect_fails_fast(std::string(nest) + "{{ ns.x }}");
  expect_fails_fast(std::string(nest) + "{{ ns.x|tojson }}");
  const char* two =
      "{% set ns = namespace(x=1, y=1) %}{% for i in range(1000) %}{% set ns.x = [ns.x] %}"
      "{% set ns.y = [ns.y] %}{% endfor %}";
  expect_fails_fast(std::string(two) + "{{ ns.x == ns.y }}");
}

TEST(JinjaHostile, LimitsAreOptions) {
  Options o = test_options();
  o.max_string = 100;
  EXPECT_THROW(render_src("{{ 'x' * 101 }}", "", o), Error);
  EXPECT_EQ(render_src("{{ 'x' * 100 }}", "", o), std::string(100, 'x'));
  o = test_options();
  o.max_steps = 1000;
  EXPECT_THROW(render_src("{% for i in range(2000) %}{% endfor %}", "", o), Error);
  o = test_options();
  o.max_depth = 20;
  EXPECT_THROW(
      render_src("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(30) }}", "", o),
      Error);
  EXPECT_EQ(render_src("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{% endif %}.{% endmacro %}{{ f(2) }}", "", o),
            "...");
}

}  // namespace
}  // namespace hearth::jinja

// ---- chat formatting ----

namespace hearth::chat {
namespace {

TEST(Chat, AppliesTemplateWithHuggingFaceConventions) {
  const std::string tmpl =
      "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>\n{% endfor %}"
      "{% if tools %}tools:{{ tools|map(attribute='function.name')|join(',') }}\n{% endif %}"
      "{% if add_generation_prompt %}<assistant>{% endif %}{{ flag }}";
  json msgs = json::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}])");
  ChatOptions o;
  o.bos_token = "<s>";
  o.tools = json::parse(R"([{"type": "function", "function": {"name": "get_weather"}}])");
  o.extra = {{"flag", "!"}};
  EXPECT_EQ(apply_template(tmpl, msgs, o),
            "<s><system>S</system>\n<user>hi</user>\ntools:get_weather\n<assistant>!");
  o.add_generation_prompt = false;
  o.tools = nullptr;
  EXPECT_EQ(apply_template(tmpl, msgs, o), "<s><system>S</system>\n<user>hi</user>\n!");
}

TEST(Chat, ToolCallArgumentStringsBecomeObjects) {
  json msgs = json::parse(R"([{"role": "assistant", "content": null, "tool_calls": [{"type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\": \"Z\u00fcrich\", \"days\": 2}"}}]},
      {"role": "tool", "content": "{\"temp\": 21}"}])");
  const std::string tmpl =
      "{% for m in messages %}{% for c in m.tool_calls or [] %}{{ c.function.name }}({{ "
      "c.function.arguments.city }},"
      "{{ c.function.arguments|tojson }}){% endfor %}{% if m.role == 'tool' %}[{{ m.content }}]{% endif %}{% "
      "endfor %}";
  ChatOptions o;
  o.add_generation_prompt = false;
  EXPECT_EQ(apply_template(tmpl, msgs, o),
            "get_weather(Z\u00fcrich,{\"city\": \"Z\u00fcrich\", \"days\": 2})[{\"temp\": 21}]");
}

TEST(Chat, ChatmlFallbackWhenNoTemplate) {
  json msgs = json::parse(R"([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo",
      "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}, {"role": "user", "content": [{"type": "text", "text": "x"}]}])");
  ChatOptions o;
  ChatTemplate t("");
  EXPECT_TRUE(t.is_fallback());
  EXPECT_EQ(t.apply(msgs, o),
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo\n<tool_call>\n{\"name\": \"f\", "
            "\"arguments\": "
            "{\"a\": 1}}\n</tool_call><|im_end|>\n<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_FALSE(ChatTemplate("x").is_fallback());
}

TEST(Chat, TemplateErrorsAreErrors) {
  ChatOptions o;
  EXPECT_THROW(apply_template("{{ raise_exception('no system role') }}", json::array(), o), Error);
  EXPECT_THROW(apply_template("{% for %}", json::array(), o), Error);
  EXPECT_THROW(apply_template("x", json::object(), o), Error);  // messages must be an array
}

}  // namespace
}  // namespace hearth::chat
