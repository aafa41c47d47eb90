#include "tools/agent/collectors/node_collector.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::agent {
namespace {

namespace fs = std::filesystem;

// Find returns the value of the one series named `name` with `device` and label `k`=`v`.
std::optional<double> Find(const Collection& c, const std::string& name,
                           const std::string& device = "", const std::string& k = "",
                           const std::string& v = "") {
  std::optional<double> found;
  for (const auto& s : c.metrics) {
    if (s.name() != name || s.resource().device() != device) continue;
    bool match = k.empty();
    for (const auto& l : s.labels()) match |= (l.name() == k && l.value() == v);
    if (k.empty()) {
      for (const auto& l : s.labels()) match &= l.name() != "cpu";
    }
    if (!match) continue;
    EXPECT_FALSE(found.has_value()) << "duplicate series " << name << " " << device;
    EXPECT_EQ(s.resource().node_name(), "node-a");
    found = s.samples(0).value();
  }
  return found;
}

class NodeCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("agent-node-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    Load("proc1");
  }
  void TearDown() override { fs::remove_all(root_); }
  // Load replaces the fake /proc with a fixture tree.
  void Load(const std::string& name) {
    fs::remove_all(root_ / "proc");
    fs::copy(fs::path(K8I_AGENT_TESTDATA) / name, root_ / "proc", fs::copy_options::recursive);
  }
  NodeCollector Make() {
    CollectorSettings s;
    s.node_name = "node-a";
    s.proc_root = (root_ / "proc").string();
    s.sys_root = std::string(K8I_AGENT_TESTDATA) + "/sys";
    s.host_root = "/host";
    return NodeCollector(s, [this](const std::string& path) -> absl::StatusOr<FsUsage> {
      statfs_paths_.push_back(path);
      if (path == "/host/srv") return absl::UnavailableError("stale NFS handle");
      return FsUsage{.size_bytes = 1000,
                     .free_bytes = 400,
                     .avail_bytes = 300,
                     .inodes = 50,
                     .inodes_free = 20};
    });
  }
  fs::path root_;
  std::vector<std::string> statfs_paths_;
  const absl::Time t0_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST_F(NodeCollectorTest, FirstRoundHasGaugesAndCountersButNoRates) {
  NodeCollector c = Make();
  Collection out;
  ASSERT_TRUE(c.Collect(t0_, out).ok());
  EXPECT_EQ(Find(out, "k8s_node_memory_available_bytes"), 8159206.0 * 1024);
  EXPECT_EQ(Find(out, "k8s_node_memory_total_bytes"), 16318412.0 * 1024);
  EXPECT_EQ(Find(out, "k8s_node_memory_cached_bytes"), 4096000.0 * 1024);
  EXPECT_EQ(Find(out, "k8s_node_memory_swap_used_bytes"), (2097148.0 - 1048574) * 1024);
  EXPECT_EQ(Find(out, "k8s_node_load1"), 0.52);
  EXPECT_EQ(Find(out, "k8s_node_processes"), 2);
  EXPECT_EQ(Find(out, "k8s_node_cpu_cores"), 2);
  EXPECT_EQ(Find(out, "k8s_node_cpu_utilization"), std::nullopt);  // needs two readings
  EXPECT_EQ(Find(out, "k8s_node_network_receive_bytes_total", "eth0"), 4294967000.0);
  EXPECT_EQ(Find(out, "k8s_node_network_receive_bytes_per_second", "eth0"), std::nullopt);
  EXPECT_EQ(Find(out, "k8s_node_network_up", "eth0"), 1);
  EXPECT_EQ(Find(out, "k8s_node_network_up", "weird#if.100"), 0);
  // Unused loop devices and ram disks are skipped; partitions and dm devices are kept.
  EXPECT_EQ(Find(out, "k8s_node_disk_reads_total", "loop0"), std::nullopt);
  EXPECT_EQ(Find(out, "k8s_node_disk_reads_total", "ram0"), std::nullopt);
  EXPECT_EQ(Find(out, "k8s_node_disk_reads_total", "loop1"), 120);
  EXPECT_EQ(Find(out, "k8s_node_disk_reads_total", "nvme0n1p1"), 900);
  EXPECT_EQ(Find(out, "k8s_node_disk_read_bytes_total", "nvme0n1"), 200000.0 * 512);
  // Filesystems: pseudo ones skipped, the duplicate "/" once, the failing one skipped.
  EXPECT_THAT(statfs_paths_,
              ::testing::ElementsAre("/host/", "/host/boot/efi", "/host/mnt/my data", "/host/srv"));
  EXPECT_EQ(Find(out, "k8s_node_filesystem_avail_bytes", "/mnt/my data", "fstype", "xfs"), 300);
  EXPECT_EQ(Find(out, "k8s_node_filesystem_used_bytes", "/", "fstype", "ext4"), 600);
  EXPECT_EQ(Find(out, "k8s_node_filesystem_inodes_free", "/boot/efi", "fstype", "vfat"), 20);
  EXPECT_EQ(Find(out, "k8s_node_filesystem_size_bytes", "/srv", "fstype", "ext4"), std::nullopt);
}

TEST_F(NodeCollectorTest, SecondRoundRatesAcrossWrapAndReset) {
  NodeCollector c = Make();
  Collection first, out;
  ASSERT_TRUE(c.Collect(t0_, first).ok());
  Load("proc2");
  ASSERT_TRUE(c.Collect(t0_ + absl::Seconds(10), out).ok());
  EXPECT_DOUBLE_EQ(*Find(out, "k8s_node_cpu_utilization"), 1.0 - 700.0 / 1600.0);
  EXPECT_DOUBLE_EQ(*Find(out, "k8s_node_cpu_utilization", "", "cpu", "0"), 1.0 - 150.0 / 900.0);
  EXPECT_DOUBLE_EQ(*Find(out, "k8s_node_cpu_iowait_ratio"), 100.0 / 1600.0);
  // eth0 rx: 32-bit wrap 4294967000 -> 1000 is 1296 bytes in 10 s.
  EXPECT_DOUBLE_EQ(*Find(out, "k8s_node_network_receive_bytes_per_second", "eth0"), 129.6);
  // eth0 tx: 64-bit wrap 18446744073709551000 -> 384 is 1000 bytes.
  EXPECT_DOUBLE_EQ(*Find(out, "k8s_node_network_transmit_bytes_per_second", "eth0"), 100);
  // weird#if.100 went 500 -> 100: a reset (interface recreated), not a negative rate.
  EXPECT_DOUBLE_EQ(*Find(out, "k8s_node_network_receive_bytes_per_second", "weird#if.100"), 10);
  EXPECT_DOUBLE_EQ(*Find(out, "k8s_node_network_receive_packets_per_second", "cali1234abcd"), 10);
  EXPECT_DOUBLE_EQ(*Find(out, "k8s_node_disk_read_bytes_per_second", "nvme0n1"),
                   20000.0 * 512 / 10);
  EXPECT_DOUBLE_EQ(*Find(out, "k8s_node_disk_writes_per_second", "nvme0n1"), 50);
  EXPECT_DOUBLE_EQ(*Find(out, "k8s_node_disk_io_utilization", "nvme0n1"), 0.1);
  EXPECT_DOUBLE_EQ(*Find(out, "k8s_node_disk_reads_per_second", "dm-0"), 59.6);
  EXPECT_DOUBLE_EQ(*Find(out, "k8s_node_disk_writes_per_second", "dm-0"), 111.6);
  for (const auto& s : out.metrics) {
    EXPECT_GE(s.samples(0).value(), 0) << s.name() << " " << s.resource().device();
    EXPECT_EQ(s.samples(0).time_unix_ms(), absl::ToUnixMillis(t0_ + absl::Seconds(10)));
  }
  EXPECT_EQ(Find(out, "k8s_node_procs_running"), 5);
}

TEST_F(NodeCollectorTest, MissingProcIsAnErrorNotACrash) {
  CollectorSettings s;
  s.node_name = "node-a";
  s.proc_root = "/nonexistent/proc";
  NodeCollector c(s);
  Collection out;
  EXPECT_FALSE(c.Collect(t0_, out).ok());
  EXPECT_TRUE(out.metrics.empty());
  EXPECT_EQ(NodeCollector::BootTime("/nonexistent/proc"), 0);
  EXPECT_EQ(NodeCollector::BootTime(std::string(K8I_AGENT_TESTDATA) + "/proc1"), 1763770000);
}

TEST(NodeCollectorRealTest, ReadsThisMachine) {
  CollectorSettings s;
  s.node_name = "node-a";
  NodeCollector c(s);
  Collection out;
  ASSERT_TRUE(c.Collect(absl::Now(), out).ok());
  EXPECT_GT(*Find(out, "k8s_node_memory_total_bytes"), 0);
  EXPECT_GT(*Find(out, "k8s_node_processes"), 0);
}

}  // namespace
}  // namespace k8i::agent
