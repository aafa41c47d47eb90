#include "tools/kubesim/api/store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace k8i::kubesim {
namespace {

using Json = nlohmann::json;

Json Pod(const std::string& ns, const std::string& name, const std::string& phase = "Running") {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"namespace", ns}, {"name", name}}},
          {"status", {{"phase", phase}}}};
}

const ResourceInfo& Pods() { return *FindResourceByName("pods"); }

std::vector<std::string> Names(const std::string& body, std::string* cont = nullptr) {
  Json j = Json::parse(body);
  std::vector<std::string> out;
  for (const Json& item : j["items"]) {
    out.push_back(item["metadata"]["namespace"].get<std::string>() + "/" +
                  item["metadata"]["name"].get<std::string>());
  }
  if (cont != nullptr) *cont = j["metadata"].value("continue", "");
  return out;
}

TEST(ObjectStoreTest, PutAssignsIncreasingResourceVersionsAndListsInKeyOrder) {
  ObjectStore s;
  s.Put("pods", Pod("b", "x"));
  s.Put("pods", Pod("a", "y"));
  s.Put("pods", Pod("a", "x"));
  auto list = s.List(Pods(), "", 0, "");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(Names(list.body), (std::vector<std::string>{"a/x", "a/y", "b/x"}));
  Json j = Json::parse(list.body);
  EXPECT_EQ(j["kind"], "PodList");
  EXPECT_EQ(j["metadata"]["resourceVersion"], std::to_string(s.resource_version()));
  EXPECT_EQ(j["items"][0]["metadata"]["resourceVersion"], "4");  // a/x was the third put
  EXPECT_EQ(Names(s.List(Pods(), "a", 0, "").body), (std::vector<std::string>{"a/x", "a/y"}));
  EXPECT_EQ(s.Get(Pods(), "a", "y").status, 200);
  auto missing = s.Get(Pods(), "a", "nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Json::parse(missing.body)["reason"], "NotFound");
}

TEST(ObjectStoreTest, ContinuedPagesShowTheFirstPagesSnapshot) {
  ObjectStore s;
  for (const char* n : {"p1", "p2", "p3", "p4", "p5"}) s.Put("pods", Pod("ns", n));
  std::string cont;
  EXPECT_EQ(Names(s.List(Pods(), "", 2, "").body, &cont),
            (std::vector<std::string>{"ns/p1", "ns/p2"}));
  ASSERT_FALSE(cont.empty());
  // Changes after the first page: p3 deleted, p4 modified, p6 added, p2 modified (already sent).
  s.Delete("pods", "ns", "p3");
  s.Put("pods", Pod("ns", "p4", "Failed"));
  s.Put("pods", Pod("ns", "p6"));
  std::string cont2;
  auto page2 = s.List(Pods(), "", 2, cont);
  ASSERT_EQ(page2.status, 200) << page2.body;
  EXPECT_EQ(Names(page2.body, &cont2), (std::vector<std::string>{"ns/p3", "ns/p4"}));
  EXPECT_EQ(Json::parse(page2.body)["items"][1]["status"]["phase"], "Running");  // as it was
  auto page3 = s.List(Pods(), "", 2, cont2);
  std::string cont3;
  EXPECT_EQ(Names(page3.body, &cont3), (std::vector<std::string>{"ns/p5"}));
  EXPECT_TRUE(cont3.empty());
  // A fresh list sees the present.
  EXPECT_EQ(Names(s.List(Pods(), "", 0, "").body),
            (std::vector<std::string>{"ns/p1", "ns/p2", "ns/p4", "ns/p5", "ns/p6"}));
}

TEST(ObjectStoreTest, ExpiredAndBadContinueTokens) {
  ObjectStore s({.history = 3});
  for (const char* n : {"p1", "p2", "p3"}) s.Put("pods", Pod("ns", n));
  std::string cont;
  Names(s.List(Pods(), "", 1, "").body, &cont);
  for (const char* n : {"p4", "p5", "p6", "p7"}) s.Put("pods", Pod("ns", n));
  auto expired = s.List(Pods(), "", 1, cont);
  EXPECT_EQ(expired.status, 410);
  EXPECT_EQ(Json::parse(expired.body)["reason"], "Expired");
  EXPECT_EQ(s.List(Pods(), "", 1, "not-a-token!").status, 400);
}

TEST(ObjectStoreTest, ChangesAfterFollowsHistoryAndReportsGone) {
  ObjectStore s({.history = 4});
  s.Put("pods", Pod("a", "x"));                // rv 2
  s.Put("configmaps", {{"metadata", {{"namespace", "a"}, {"name", "c"}}}});  // rv 3
  s.Put("pods", Pod("b", "y"));                // rv 4
  s.Put("pods", Pod("a", "x", "Failed"));      // rv 5
  s.Delete("pods", "a", "x");                  // rv 6
  auto all = s.ChangesAfter("pods", "", 2, 100);
  ASSERT_FALSE(all.gone);
  ASSERT_EQ(all.lines.size(), 3u);
  EXPECT_EQ(Json::parse(*all.lines[0])["type"], "ADDED");
  EXPECT_EQ(Json::parse(*all.lines[1])["type"], "MODIFIED");
  Json del = Json::parse(*all.lines[2]);
  EXPECT_EQ(del["type"], "DELETED");
  EXPECT_EQ(del["object"]["metadata"]["resourceVersion"], "6");
  EXPECT_EQ(del["object"]["status"]["phase"], "Failed");
  EXPECT_EQ(all.last, 6u);
  auto only_a = s.ChangesAfter("pods", "a", 2, 100);
  EXPECT_EQ(only_a.lines.size(), 2u);
  auto capped = s.ChangesAfter("pods", "", 2, 1);
  EXPECT_EQ(capped.lines.size(), 1u);
  EXPECT_EQ(capped.last, 4u);
  for (int i = 0; i < 4; ++i) s.Put("pods", Pod("c", "z" + std::to_string(i)));
  EXPECT_TRUE(s.ChangesAfter("pods", "", 2, 100).gone);
  EXPECT_FALSE(s.ChangesAfter("pods", "", s.resource_version() - 2, 100).gone);
  s.Compact();
  EXPECT_TRUE(s.ChangesAfter("pods", "", s.resource_version() - 1, 100).gone);
  auto now = s.ChangesAfter("pods", "", s.resource_version(), 100);
  EXPECT_FALSE(now.gone);
  EXPECT_TRUE(now.lines.empty());
}

TEST(ObjectStoreTest, SnapshotForbiddenAndListeners) {
  ObjectStore s;
  int flushed = 0;
  s.AddListener([&] { ++flushed; });
  s.Put("pods", Pod("a", "x"));
  s.Put("pods", Pod("a", "y"));
  s.Flush();
  s.Flush();  // nothing new
  EXPECT_EQ(flushed, 1);
  auto snap = s.Snapshot("pods", "");
  EXPECT_EQ(snap.lines.size(), 2u);
  EXPECT_EQ(snap.last, s.resource_version());
  s.SetForbidden("secrets", true);
  EXPECT_TRUE(s.Forbidden("secrets"));
  s.SetForbidden("secrets", false);
  EXPECT_FALSE(s.Forbidden("secrets"));
  s.Put("nonsense", {{"metadata", {{"name", "x"}}}});  // not a served resource: ignored
  EXPECT_EQ(s.resource_version(), 3u);
}

}  // namespace
}  // namespace k8i::kubesim
