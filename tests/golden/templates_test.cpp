// Golden test: real chat templates rendered like Hugging Face transformers (Python Jinja2), from
// ../shared/fixtures/templates. Prints the pass rate per template and overall and the first difference
// of each failing template; fails below 97% overall or when a template crashes or hangs.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "chat/chat.h"
#include "chat/jinja/jinja.h"

namespace hearth::chat {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Printable excerpt around byte `at`.
std::string excerpt(const std::string& s, size_t at) {
  size_t b = at > 60 ? at - 60 : 0;
  std::string out;
  for (char c : s.substr(b, 140)) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

jinja::Options fixture_options() {
  jinja::Options o;  // Hugging Face defaults
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

TEST(Templates, MatchPythonRenderings) {
  const fs::path dir = fs::path(HEARTH_FIXTURES) / "templates";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().string().ends_with(".cases.json")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());

  size_t total = 0, passed = 0;
  std::vector<std::string> broken;  // crashed or hung
  for (const auto& f : files) {
    json doc = json::parse(read_all(f));
    const std::string name = doc["template"].get<std::string>();
    const std::string src = read_all(dir / name);
    size_t t_total = 0, t_pass = 0;
    std::string first_diff;
    std::unique_ptr<jinja::Template> tmpl;
    std::string parse_error;
    try {
      tmpl = std::make_unique<jinja::Template>(src, fixture_options());
    } catch (const Error& e) {
      parse_error = e.what();
    }
    for (const auto& c : doc["cases"]) {
      ++t_total;
      const bool want_error = c.contains("error");
      std::string got, err;
      auto t0 = std::chrono::steady_clock::now();
      try {
        if (!tmpl) throw Error(parse_error);
        got = tmpl->render(c["context"]);
      } catch (const Error& e) {
        err = e.what();
      } catch (const std::exception& e) {
        broken.push_back(fmt::format("{} [{}]: crashed: {}", name, c["name"].get<std::string>(), e.what()));
        err = e.what();
      }
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (secs > 5.0)
        broken.push_back(fmt::format("{} [{}]: took {:.1f} s", name, c["name"].get<std::string>(), secs));
      bool ok;
      if (want_error) {
        ok = !err.empty();
      } else {
        const std::string expected = c["expected"].get<std::string>();
        ok = err.empty() && got == expected;
        if (!ok && first_diff.empty()) {
          if (!err.empty()) {
            first_diff = fmt::format("case {}: error: {}", c["name"].get<std::string>(), err);
          } else {
            size_t i = 0;
            while (i < got.size() && i < expected.size() && got[i] == expected[i]) ++i;
            first_diff =
                fmt::format("case {}: first difference at byte {}\n      expected: {}\n      got:      {}",
                            c["name"].get<std::string>(), i, excerpt(expected, i), excerpt(got, i));
          }
        }
      }
      if (!ok && want_error && first_diff.empty())
        first_diff = fmt::format("case {}: expected an error, got a rendering", c["name"].get<std::string>());
      t_pass += ok ? 1 : 0;
    }
    total += t_total;
    passed += t_pass;
    std::printf("  %-60s %3zu/%3zu\n", name.c_str(), t_pass, t_total);
    if (!first_diff.empty()) std::printf("    %s\n", first_diff.c_str());
  }
  double rate = total ? 100.0 * static_cast<double>(passed) / static_cast<double>(total) : 0;
  std::printf("overall: %zu/%zu cases = %.2f%%\n", passed, total, rate);
  for (auto& b : broken) ADD_FAILURE() << b;
  EXPECT_GE(rate, 97.0);
}

}  // namespace
}  // namespace hearth::chat
