using System.Diagnostics;
using k8s;
using k8s.Models;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Kubernetes;

/// <summary>
/// The Kubernetes output of <c>Cache:Topology=sentinel</c>: two StatefulSets (data nodes, sentinels) with headless
/// Services, their scripts and settings in ConfigMaps, disruption budgets, and the API connected through the
/// sentinels. That the scripts fail over is shown by SentinelFailoverTests, which run these very files.
/// </summary>
public sealed class SentinelManifestTests(SentinelManifestsFixture generated) : IClassFixture<SentinelManifestsFixture>
{
    private T Single<T>(string name) where T : IKubernetesObject<V1ObjectMeta> =>
        generated.Objects.OfType<T>().Single(o => o.Metadata.Name == name);

    [Fact]
    public void The_committed_sentinel_base_is_exactly_what_the_model_generates() =>
        KubernetesManifestTests.AssertCommitted(generated.Directory, Path.Combine(Repository.ManifestsDirectory, "sentinel"));

    [Theory]
    [InlineData("cache-redis", 6379, "start-redis.sh", "redis.conf")]
    [InlineData("cache-sentinel", 26379, "start-sentinel.sh", "sentinel.conf")]
    public void Each_part_is_three_pods_with_names_of_their_own_a_volume_its_files_and_a_disruption_budget(string name, int port, string script, string settings)
    {
        var set = Single<V1StatefulSet>(name);
        var pod = set.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        var service = Single<V1Service>(name);
        var files = Single<V1ConfigMap>(name + "-files");

        Assert.Equal(3, set.Spec.Replicas);
        // Per-pod DNS names (cache-redis-0.cache-redis), listed before the pods are ready: they find each other by them.
        Assert.Equal((name, "None", true), (set.Spec.ServiceName, service.Spec.ClusterIP, service.Spec.PublishNotReadyAddresses));
        Assert.Equal(port, Assert.Single(container.Ports).ContainerPort);
        Assert.Single(set.Spec.VolumeClaimTemplates);
        Assert.Equal("2", Single<V1PodDisruptionBudget>(name).Spec.MinAvailable.Value);
        Assert.NotNull(pod.TopologySpreadConstraints);

        Assert.Equal(["/bin/sh"], container.Command);
        Assert.Equal(["/config/" + script], container.Args);
        Assert.Equal(new[] { script, settings, "common.sh" }.Order(StringComparer.Ordinal), files.Data.Keys.Order(StringComparer.Ordinal));
        var mount = container.VolumeMounts.Single(m => m.MountPath == "/config");
        Assert.True(mount.ReadOnlyProperty);
        Assert.Equal(files.Metadata.Name, pod.Volumes.Single(v => v.Name == mount.Name).ConfigMap.Name);
        Assert.Equal("cache-password", container.Env.Single(e => e.Name == "REDIS_PASSWORD").ValueFrom.SecretKeyRef.Key);
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);

        var config = Single<V1ConfigMap>(name + "-config").Data;
        Assert.Equal(name, config["SERVICE_DOMAIN"]);
        Assert.Equal("cache-redis-0.cache-redis:6379", config["INITIAL_PRIMARY"]);
        Assert.Equal("cache-sentinel-0.cache-sentinel:26379 cache-sentinel-1.cache-sentinel:26379 cache-sentinel-2.cache-sentinel:26379", config["SENTINELS"]);
    }

    [Fact]
    public void The_data_nodes_share_the_apphosts_persistence_and_memory_settings()
    {
        var settings = Single<V1ConfigMap>("cache-redis-files").Data["redis.conf"];

        foreach (var setting in new[] { "appendonly yes", "appendfsync everysec", "maxmemory 512mb", "maxmemory-policy noeviction" })
        {
            Assert.Contains(setting + "\n", settings, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_api_connects_through_the_three_sentinels_and_waits_for_both_replicas()
    {
        var api = Single<V1Deployment>("api").Spec.Template.Spec.Containers[0];

        Assert.Equal(
            "cache-sentinel-0.cache-sentinel:26379,cache-sentinel-1.cache-sentinel:26379,cache-sentinel-2.cache-sentinel:26379,serviceName=mymaster,password=$(SECRET_CACHE_PASSWORD)",
            api.Env.Single(e => e.Name == "ConnectionStrings__cache").Value);
        Assert.Equal("2", Single<V1ConfigMap>("api-config").Data["Redis__WaitForReplicas"]);
        // Nothing of the single topology is left.
        Assert.DoesNotContain(generated.Objects.OfType<V1StatefulSet>(), s => s.Metadata.Name == "cache");
        Assert.True(int.Parse(generated.Objects.OfType<V1ResourceQuota>().Single().Spec.Hard["persistentvolumeclaims"].ToString(), System.Globalization.CultureInfo.InvariantCulture) >= 6);
    }

    [Fact]
    public void Only_the_api_the_console_and_the_topologys_own_pods_reach_redis_and_the_sentinels()
    {
        string[] Allowed(string name) => Assert.Single(Assert.Single(Single<V1NetworkPolicy>(name).Spec.Ingress).FromProperty).PodSelector.MatchExpressions.Single().Values.ToArray();

        // Replicas copy the primary, sentinels watch the nodes and each other, a starting node asks the sentinels.
        Assert.Equal(["api", "cache-redis", "cache-sentinel", "console"], Allowed("cache-redis"));
        Assert.Equal(["api", "cache-redis", "cache-sentinel", "console"], Allowed("cache-sentinel"));
    }

    [Theory]
    [InlineData("with spaces, \"quotes\", $dollars and a \\ backslash")]
    [InlineData("plain")]
    public async Task The_start_script_hands_any_password_to_redis_whole(string password)
    {
        var directory = Directory.CreateTempSubdirectory("llmapi-start-redis-").FullName;
        try
        {
            foreach (var (name, content) in Single<V1ConfigMap>("cache-redis-files").Data)
            {
                await File.WriteAllTextAsync(Path.Combine(directory, name), content);
            }

            var port = RedisServer.FreeTcpPort();
            var start = new ProcessStartInfo("sh") { ArgumentList = { Path.Combine(directory, "start-redis.sh") }, RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment["REDIS_PASSWORD"] = password;
            start.Environment["REDIS_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            start.Environment["BIND_ADDRESS"] = "127.0.0.1";
            start.Environment["ANNOUNCE_HOST"] = "127.0.0.1";
            // The first deployment's primary, with no sentinel answering yet.
            start.Environment["INITIAL_PRIMARY"] = $"127.0.0.1:{port}";
            start.Environment["SENTINELS"] = $"127.0.0.1:{RedisServer.FreeTcpPort()}";
            start.Environment["DATA_DIR"] = Path.Combine(directory, "data");
            using var redis = Process.Start(start)!;
            try
            {
                await RedisProcesses.WaitUntilAsync(async () => (await RedisProcesses.AuthenticatedCliAsync(port, password, "ping")).Contains("PONG", StringComparison.Ordinal),
                    "redis to answer with the password");
                Assert.Contains("role:master", await RedisProcesses.AuthenticatedCliAsync(port, password, "info", "replication"), StringComparison.Ordinal);
                Assert.Contains("NOAUTH", await RedisProcesses.CliAsync(port, "ping"), StringComparison.Ordinal);
            }
            finally
            {
                redis.Kill();
                await redis.WaitForExitAsync();
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
