// Conformance of every storage engine: ListNamespaces lists the namespaces holding entries,
// sorted by name, with the counts Stats gives, one page at a time after a given name.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/storage/engines/engine_test_base.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

MATCHER_P3(NamespaceIs, name, entries, bytes, "") {
  *result_listener << "name=" << arg.name << " entries=" << arg.entries << " bytes=" << arg.bytes;
  return arg.name == name && arg.entries == entries && arg.bytes == bytes;
}

class EngineNamespacesTest : public EngineTest {
 protected:
  // Declared: an engine that cannot list namespaces refuses every page.
  bool Unsupported() {
    if (capabilities().list_namespaces) return false;
    ExpectUnsupported(engine().ListNamespaces("", 10).status(), "ListNamespaces");
    ExpectUnsupported(engine().ListNamespaces("a", 1).status(), "ListNamespaces");
    return true;
  }

  // Every namespace, read in pages of `limit`; fails the test when a page is longer.
  std::vector<NamespaceInfo> ListAll(size_t limit) {
    std::vector<NamespaceInfo> all;
    std::string after;
    for (int pages = 0; pages < 1000; ++pages) {
      absl::StatusOr<NamespaceList> page = engine().ListNamespaces(after, limit);
      EXPECT_OK(page.status());
      if (!page.ok()) break;
      EXPECT_LE(page->namespaces.size(), limit);
      all.insert(all.end(), page->namespaces.begin(), page->namespaces.end());
      if (page->resume_after.empty()) break;
      EXPECT_GT(page->resume_after, after);
      after = page->resume_after;
    }
    return all;
  }
};

TEST_P(EngineNamespacesTest, ListsNamespacesSortedWithTheirCounts) {
  if (Unsupported()) return;
  Put("b", "k1", "xx");
  Put("b", "k22", "yyy");
  Put("a", "k", "v");
  Put("c.d-e_f", "key", "value");
  ASSERT_OK_AND_ASSIGN(NamespaceList list, engine().ListNamespaces("", 10));
  EXPECT_THAT(list.namespaces,
              ElementsAre(NamespaceIs("a", 1, 2), NamespaceIs("b", 2, 2 + 2 + 3 + 3),
                          NamespaceIs("c.d-e_f", 1, 3 + 5)));
  EXPECT_THAT(list.resume_after, IsEmpty());
}

TEST_P(EngineNamespacesTest, EmptyEngineListsNothing) {
  if (Unsupported()) return;
  ASSERT_OK_AND_ASSIGN(NamespaceList list, engine().ListNamespaces("", 5));
  EXPECT_THAT(list.namespaces, IsEmpty());
  EXPECT_THAT(list.resume_after, IsEmpty());
}

TEST_P(EngineNamespacesTest, StartsAfterTheGivenName) {
  if (Unsupported()) return;
  Put("a", "k", "v");
  Put("ab", "k", "v");
  Put("b", "k", "v");
  ASSERT_OK_AND_ASSIGN(NamespaceList list, engine().ListNamespaces("a", 10));
  EXPECT_THAT(list.namespaces, ElementsAre(NamespaceIs("ab", 1, 2), NamespaceIs("b", 1, 2)));
  ASSERT_OK_AND_ASSIGN(list, engine().ListNamespaces("b", 10));
  EXPECT_THAT(list.namespaces, IsEmpty());
  EXPECT_THAT(list.resume_after, IsEmpty());
}

TEST_P(EngineNamespacesTest, PagesCoverEveryNamespaceOnceInOrder) {
  if (Unsupported()) return;
  std::vector<std::string> names;
  for (int n = 0; n < 12; ++n) {
    names.push_back(absl::StrCat("ns", n < 10 ? "0" : "", n));
    // Several keys per namespace, so the memory engine spreads each over its shards.
    for (int k = 0; k <= n; ++k) Put(names.back(), absl::StrCat("key", k), "v");
  }
  for (size_t limit : {1, 5, 12, 100}) {
    std::vector<NamespaceInfo> all = ListAll(limit);
    ASSERT_EQ(all.size(), names.size()) << "limit " << limit;
    for (size_t n = 0; n < names.size(); ++n) {
      EXPECT_EQ(all[n].name, names[n]) << "limit " << limit;
      EXPECT_EQ(all[n].entries, static_cast<int64_t>(n + 1)) << names[n];
      ASSERT_OK_AND_ASSIGN(EngineStats stats, engine().Stats(names[n]));
      EXPECT_EQ(all[n].bytes, stats.bytes) << names[n];
    }
  }
}

TEST_P(EngineNamespacesTest, EmptiedNamespaceIsNotListed) {
  if (Unsupported()) return;
  Put("gone", "k", "v");
  Put("kept", "k", "v");
  ASSERT_OK(engine().Delete("gone", "k").status());
  Put("invalidated", "k", "v");
  ASSERT_OK(engine().Invalidate("invalidated", InvalidateTarget{}).status());
  EXPECT_THAT(ListAll(1), ElementsAre(NamespaceIs("kept", 1, 2)));
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineNamespacesTest, AllEngines(), EngineName);

}  // namespace
}  // namespace larder::storage::testing
