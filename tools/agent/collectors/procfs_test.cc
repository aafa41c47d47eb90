#include "tools/agent/collectors/procfs.h"

#include "gtest/gtest.h"
#include "tools/agent/collectors/node_collector.h"

namespace k8i::agent::procfs {
namespace {

std::string Fixture(const std::string& rel) {
  auto text = ReadFileToString(std::string(K8I_AGENT_TESTDATA) + "/" + rel);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

TEST(ProcfsTest, Stat) {
  const Stat st = ParseStat(Fixture("proc1/stat"));
  ASSERT_EQ(st.cpus.size(), 3u);
  EXPECT_EQ(st.cpus[0].cpu, "cpu");
  EXPECT_EQ(st.cpus[0].Total(), 10000u);
  EXPECT_EQ(st.cpus[0].Idle(), 8500u);
  EXPECT_EQ(st.cpus[2].cpu, "cpu1");
  EXPECT_EQ(st.boot_time, 1763770000);
  EXPECT_EQ(st.procs_running, 3);
  EXPECT_EQ(st.procs_blocked, 1);
}

TEST(ProcfsTest, StatOldKernelWithFewColumns) {
  const Stat st = ParseStat("cpu 1 2 3 4\ncpu0 1 2 3\n");
  ASSERT_EQ(st.cpus.size(), 1u);  // cpu0 has too few columns
  EXPECT_EQ(st.cpus[0].Total(), 10u);
}

TEST(ProcfsTest, Meminfo) {
  const auto m = ParseMeminfo(Fixture("proc1/meminfo"));
  EXPECT_EQ(m.at("MemTotal"), 16318412ull * 1024);
  EXPECT_EQ(m.at("MemAvailable"), 8159206ull * 1024);
  EXPECT_EQ(m.at("SwapFree"), 1048574ull * 1024);
  EXPECT_EQ(m.at("HugePages_Total"), 0u);  // no unit: not scaled
}

TEST(ProcfsTest, DiskstatsKeepsOddDevicesAndSkipsShortLines) {
  const auto d = ParseDiskstats(Fixture("proc1/diskstats"));
  std::vector<std::string> names;
  for (const auto& x : d) names.push_back(x.device);
  EXPECT_EQ(names,
            (std::vector<std::string>{"loop0", "loop1", "ram0", "nvme0n1", "nvme0n1p1", "dm-0"}));
  EXPECT_EQ(d[3].sectors_read, 200000u);
  EXPECT_EQ(d[3].writes, 2000u);
  EXPECT_EQ(d[5].writes, 18446744073709551000ull);
}

TEST(ProcfsTest, NetDevWeirdNamesAndGluedNumbers) {
  const auto n = ParseNetDev(Fixture("proc1/net/dev"));
  ASSERT_EQ(n.size(), 4u);  // the header lines and the truncated "broken" line are skipped
  EXPECT_EQ(n[1].iface, "eth0");
  EXPECT_EQ(n[1].rx_bytes, 4294967000u);  // "eth0:4294967000" glued
  EXPECT_EQ(n[1].tx_bytes, 18446744073709551000ull);
  EXPECT_EQ(n[1].rx_drop, 2u);
  EXPECT_EQ(n[1].tx_errs, 3u);
  EXPECT_EQ(n[2].iface, "weird#if.100");
  EXPECT_EQ(n[3].iface, "cali1234abcd");
}

TEST(ProcfsTest, MountsUnescapeAndPseudoFilter) {
  const auto mounts = ParseMounts(Fixture("proc1/mounts"));
  ASSERT_EQ(mounts.size(), 10u);
  EXPECT_EQ(mounts[5].mount_point, "/mnt/my data");
  std::vector<std::string> real;
  for (const auto& m : mounts) {
    if (!IsPseudoFilesystem(m)) real.push_back(m.mount_point);
  }
  EXPECT_EQ(real, (std::vector<std::string>{"/", "/boot/efi", "/mnt/my data", "/srv", "/"}));
  EXPECT_FALSE(IsPseudoFilesystem({"/dev/sda1", "/device-data", "ext4"}));  // not under /dev
  EXPECT_TRUE(IsPseudoFilesystem({"/dev/sda1", "/dev/shm2", "ext4"}));
}

TEST(ProcfsTest, Loadavg) {
  auto l = ParseLoadavg(Fixture("proc1/loadavg"));
  ASSERT_TRUE(l.has_value());
  EXPECT_DOUBLE_EQ(l->load1, 0.52);
  EXPECT_DOUBLE_EQ(l->load15, 0.59);
  EXPECT_EQ(l->threads, 1234);
  EXPECT_FALSE(ParseLoadavg("garbage").has_value());
  EXPECT_FALSE(ParseLoadavg("").has_value());
}

TEST(ProcfsTest, GarbageNeverCrashes) {
  const std::string junk[] = {"",
                              "\n\n",
                              ":",
                              "cpu",
                              "cpu x y z w",
                              "a:b:c",
                              "\\",
                              "\\0",
                              "x \\12",
                              std::string(1000, ':'),
                              std::string("\0\0\0", 3)};
  for (const auto& j : junk) {
    ParseStat(j);
    ParseMeminfo(j);
    ParseDiskstats(j);
    ParseNetDev(j);
    ParseMounts(j);
    ParseLoadavg(j);
  }
}

}  // namespace
}  // namespace k8i::agent::procfs
