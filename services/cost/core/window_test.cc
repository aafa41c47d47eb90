#include "services/cost/core/window.h"

#include "gtest/gtest.h"

namespace k8i::cost {
namespace {

absl::Time T(const char* s) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, s, &t, &err)) << s;
  return t;
}

TEST(WindowTest, NamedAndExplicitWindows) {
  const absl::Time now = T("2026-11-10T10:20:00Z");
  struct Case {
    std::string name;
    absl::Time start, end;  // explicit range when name is empty
    absl::Time want_start, want_end;
  };
  const absl::Time none = absl::InfinitePast();
  const std::vector<Case> cases = {
      {"today", none, none, T("2026-11-10T00:00:00Z"), T("2026-11-10T11:00:00Z")},
      {"yesterday", none, none, T("2026-11-09T00:00:00Z"), T("2026-11-10T00:00:00Z")},
      {"7d", none, none, T("2026-11-04T00:00:00Z"), T("2026-11-10T11:00:00Z")},
      {"30d", none, none, T("2026-10-12T00:00:00Z"), T("2026-11-10T11:00:00Z")},
      {"month", none, none, T("2026-11-01T00:00:00Z"), T("2026-11-10T11:00:00Z")},
      {"last-month", none, none, T("2026-10-01T00:00:00Z"), T("2026-11-01T00:00:00Z")},
      {"", T("2026-11-01T05:30:00Z"), T("2026-11-02T07:10:00Z"), T("2026-11-01T05:00:00Z"),
       T("2026-11-02T08:00:00Z")},
  };
  for (const Case& c : cases) {
    auto w = ResolveWindow(c.name, c.start, c.end, now);
    ASSERT_TRUE(w.ok()) << c.name << ": " << w.status();
    EXPECT_EQ(w->start, c.want_start) << c.name;
    EXPECT_EQ(w->end, c.want_end) << c.name;
  }
}

TEST(WindowTest, BadWindowsAreRejected) {
  const absl::Time now = T("2026-11-10T10:20:00Z");
  EXPECT_FALSE(ResolveWindow("9d", absl::InfinitePast(), absl::InfinitePast(), now).ok());
  EXPECT_FALSE(ResolveWindow("", absl::InfinitePast(), absl::InfinitePast(), now).ok());
  EXPECT_FALSE(ResolveWindow("", T("2026-11-02T00:00:00Z"), T("2026-11-01T00:00:00Z"), now).ok());
  EXPECT_FALSE(ResolveWindow("", T("2024-01-01T00:00:00Z"), T("2026-11-01T00:00:00Z"), now).ok());
}

}  // namespace
}  // namespace k8i::cost
