// deploy/kubernetes: the daemon's probes are the right ones (liveness /healthz, readiness
// /readyz), and the pods get from the host only the files the config names (the CA certificate,
// the client certificate and key), each mounted alone: never a directory, so never etcd's CA key.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

namespace lifeboat {
namespace {

const std::string kDir = std::string(LB_TEST_DATA) + "/../../deploy/kubernetes/";

// Every pod spec of a manifest file (Deployment, CronJob).
std::vector<YAML::Node> PodSpecs(const std::string& file, YAML::Node* configmap) {
  std::vector<YAML::Node> out;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(kDir + file)) {
    const std::string kind = doc["kind"].as<std::string>();
    if (kind == "Deployment") out.push_back(doc["spec"]["template"]["spec"]);
    if (kind == "CronJob") out.push_back(doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]);
    if (kind == "ConfigMap" && configmap != nullptr) *configmap = YAML::Load(doc["data"]["lifeboat.yaml"].as<std::string>());
  }
  return out;
}

// The host paths a pod mounts, each checked to be one file.
std::set<std::string> HostFiles(const YAML::Node& pod) {
  std::set<std::string> out;
  for (const YAML::Node& v : pod["volumes"]) {
    if (!v["hostPath"]) continue;
    const std::string path = v["hostPath"]["path"].as<std::string>();
    EXPECT_EQ(v["hostPath"]["type"].as<std::string>(""), "File") << path << ": mount single files, not a directory";
    EXPECT_EQ(path.find("ca.key"), std::string::npos) << path;
    out.insert(path);
  }
  return out;
}

TEST(KubernetesManifestTest, ProbesAndOnlyTheClientsCertificatesFromTheHost) {
  YAML::Node config;
  auto deployment = PodSpecs("deployment.yaml", &config);
  ASSERT_EQ(deployment.size(), 1u);
  ASSERT_TRUE(config.IsMap());
  const std::set<std::string> named = {config["cacert"].as<std::string>(), config["cert"].as<std::string>(),
                                       config["key"].as<std::string>()};
  EXPECT_EQ(HostFiles(deployment[0]), named);
  const YAML::Node c = deployment[0]["containers"][0];
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["port"].as<std::string>(), c["ports"][0]["name"].as<std::string>());
  for (const YAML::Node& m : c["volumeMounts"]) EXPECT_TRUE(m["readOnly"].as<bool>()) << m["mountPath"];

  auto cronjob = PodSpecs("cronjob.yaml", nullptr);
  ASSERT_EQ(cronjob.size(), 1u);
  EXPECT_EQ(HostFiles(cronjob[0]), named);
}

}  // namespace
}  // namespace lifeboat
