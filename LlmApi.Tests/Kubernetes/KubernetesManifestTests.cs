using System.Diagnostics;
using k8s;
using k8s.Models;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Kubernetes;

[Collection(SharedApi.Name)]
public sealed class KubernetesManifestTests(GeneratedManifestsFixture generated, ApiFixture api) : IClassFixture<GeneratedManifestsFixture>
{
    private T Single<T>(string name) where T : IKubernetesObject<V1ObjectMeta> =>
        generated.Objects.OfType<T>().Single(o => o.Metadata.Name == name);

    [Fact]
    public void The_committed_manifests_are_exactly_what_the_model_generates() =>
        AssertCommitted(generated.Directory, Repository.ManifestsDirectory);

    /// <summary>The files of <paramref name="committedDirectory"/> are byte for byte those just generated.</summary>
    internal static void AssertCommitted(string generatedDirectory, string committedDirectory)
    {
        var expected = Directory.EnumerateFiles(generatedDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var committed = Directory.EnumerateFiles(committedDirectory).Select(Path.GetFileName)
            .Where(f => f != "secrets.env") // the operator's own file, git-ignored
            .Order(StringComparer.Ordinal).ToList();

        Assert.Equal(expected, committed);
        foreach (var file in expected)
        {
            var regenerated = File.ReadAllBytes(Path.Combine(generatedDirectory, file!));
            var inRepository = File.ReadAllBytes(Path.Combine(committedDirectory, file!));
            Assert.True(regenerated.AsSpan().SequenceEqual(inRepository),
                $"{Path.GetRelativePath(Repository.Root, committedDirectory)}/{file} differs from what the app model generates; regenerate it (README, Kubernetes).");
        }
    }

    [Fact]
    public void Every_document_is_a_known_kubernetes_object_in_the_llm_api_layer_namespace()
    {
        Assert.NotEmpty(generated.Objects);
        foreach (var o in generated.Objects.Cast<IKubernetesObject<V1ObjectMeta>>().Where(o => o is not V1Namespace))
        {
            Assert.Equal("llm-api-layer", o.Metadata.NamespaceProperty);
        }

        Assert.Equal("llm-api-layer", Assert.Single(generated.Objects.OfType<V1Namespace>()).Metadata.Name);
        var quota = Assert.Single(generated.Objects.OfType<V1ResourceQuota>()).Spec.Hard;
        Assert.Equal("10", quota["requests.cpu"].ToString());
        Assert.Equal("20Gi", quota["limits.memory"].ToString());
        Assert.Single(generated.Objects.OfType<V1LimitRange>());
    }

    [Fact]
    public void The_api_deployment_carries_the_models_replicas_probes_and_the_seeds_policy()
    {
        var deployment = Single<V1Deployment>("api");
        var pod = deployment.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);

        Assert.Equal(3, deployment.Spec.Replicas);
        Assert.Equal("RollingUpdate", deployment.Spec.Strategy.Type);
        Assert.Equal("1", deployment.Spec.Strategy.RollingUpdate.MaxSurge.Value);
        Assert.Equal("llmapi-api:latest", container.Image);
        Assert.Equal("/alive", container.LivenessProbe.HttpGet.Path);
        Assert.Equal((30, 10, 3), (container.LivenessProbe.InitialDelaySeconds, container.LivenessProbe.PeriodSeconds, container.LivenessProbe.FailureThreshold));
        Assert.Equal("/health", container.ReadinessProbe.HttpGet.Path);
        Assert.Equal((10, 5, 3), (container.ReadinessProbe.InitialDelaySeconds, container.ReadinessProbe.PeriodSeconds, container.ReadinessProbe.FailureThreshold));
        Assert.Equal((5, 30), (container.StartupProbe.PeriodSeconds, container.StartupProbe.FailureThreshold));
        Assert.Equal("200m", container.Resources.Requests["cpu"].ToString());
        Assert.Equal("512Mi", container.Resources.Limits["memory"].ToString());
        Assert.Equal(1001, pod.SecurityContext.RunAsUser);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile.Type);
        Assert.Contains(container.VolumeMounts, m => m.MountPath == "/tmp");
        Assert.Equal(["kubernetes.io/hostname", "topology.kubernetes.io/zone"], pod.TopologySpreadConstraints.Select(t => t.TopologyKey));
    }

    [Fact]
    public void Secrets_are_references_to_the_generated_secret_and_never_values()
    {
        var container = Single<V1Deployment>("api").Spec.Template.Spec.Containers[0];
        var config = Single<V1ConfigMap>("api-config").Data;

        Assert.Equal("jwt-signing-key", container.Env.Single(e => e.Name == "Jwt__SigningKey").ValueFrom.SecretKeyRef.Key);
        Assert.Equal("operator-key", container.Env.Single(e => e.Name == "Operator__Key").ValueFrom.SecretKeyRef.Key);
        Assert.Equal("cache:6379,password=$(SECRET_CACHE_PASSWORD)", container.Env.Single(e => e.Name == "ConnectionStrings__cache").Value);
        Assert.Equal("Production", config["ASPNETCORE_ENVIRONMENT"]);
        Assert.DoesNotContain(config.Keys, k => k.Contains("Key", StringComparison.OrdinalIgnoreCase) || k.Contains("PASSWORD", StringComparison.Ordinal));
        var example = File.ReadAllLines(Path.Combine(generated.Directory, "secrets.env.example")).Where(l => !l.StartsWith('#')).ToList();
        Assert.Equal(["cache-password=", "jwt-signing-key=", "metrics-scrape-key=", "operator-key="], example);
    }

    [Fact]
    public void Selectors_ports_and_targets_line_up()
    {
        var deployment = Single<V1Deployment>("api");
        var podLabels = deployment.Spec.Template.Metadata.Labels;
        var container = deployment.Spec.Template.Spec.Containers[0];
        var service = Single<V1Service>("api");
        var hpa = Single<V2HorizontalPodAutoscaler>("api");
        var pdb = Single<V1PodDisruptionBudget>("api");
        var apiPolicy = Single<V1NetworkPolicy>("api");
        var cachePolicy = Single<V1NetworkPolicy>("cache");
        var ingress = Single<V1Ingress>("api");

        Assert.All(deployment.Spec.Selector.MatchLabels, l => Assert.Equal(l.Value, podLabels[l.Key]));
        Assert.All(service.Spec.Selector, l => Assert.Equal(l.Value, podLabels[l.Key]));
        Assert.All(pdb.Spec.Selector.MatchLabels, l => Assert.Equal(l.Value, podLabels[l.Key]));
        Assert.All(apiPolicy.Spec.PodSelector.MatchLabels, l => Assert.Equal(l.Value, podLabels[l.Key]));

        var servicePort = Assert.Single(service.Spec.Ports);
        Assert.Equal(80, servicePort.Port);
        var containerPort = container.Ports.Single(p => p.Name == servicePort.TargetPort.Value);
        Assert.Equal(8080, containerPort.ContainerPort);
        Assert.Equal("8080", Single<V1ConfigMap>("api-config").Data["HTTP_PORTS"]);
        Assert.Equal(containerPort.ContainerPort, container.ReadinessProbe.HttpGet.Port.Value is var p ? int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) : 0);
        Assert.Equal(8080, int.Parse(Assert.Single(Assert.Single(apiPolicy.Spec.Ingress).Ports).Port.Value, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(("Deployment", "api"), (hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name));
        Assert.Equal((3, 10), (hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas));
        Assert.Equal([70, 80], hpa.Spec.Metrics.Select(m => m.Resource.Target.AverageUtilization));
        Assert.Equal((0, "Max"), (hpa.Spec.Behavior.ScaleUp.StabilizationWindowSeconds, hpa.Spec.Behavior.ScaleUp.SelectPolicy));
        Assert.Equal((300, "Min"), (hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds, hpa.Spec.Behavior.ScaleDown.SelectPolicy));
        Assert.Equal("2", pdb.Spec.MinAvailable.Value);
        Assert.Equal(("api", servicePort.Name), (ingress.Spec.Rules[0].Http.Paths[0].Backend.Service.Name, ingress.Spec.Rules[0].Http.Paths[0].Backend.Service.Port.Name));
        Assert.Equal("nginx", ingress.Spec.IngressClassName);
        // Streams pass piece by piece, for as long as a model call may run.
        Assert.Equal("off", ingress.Metadata.Annotations["nginx.ingress.kubernetes.io/proxy-buffering"]);
        Assert.True(int.Parse(ingress.Metadata.Annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"], System.Globalization.CultureInfo.InvariantCulture) >= 120);
        Assert.NotEmpty(ingress.Spec.Tls);

        // Only the API's and the console's pods may reach Redis, and only on its port.
        var cacheRule = Assert.Single(cachePolicy.Spec.Ingress);
        var allowed = Assert.Single(Assert.Single(cacheRule.FromProperty).PodSelector.MatchExpressions);
        Assert.Equal([podLabels[allowed.Key], "console"], allowed.Values);
        Assert.Equal("6379", Assert.Single(cacheRule.Ports).Port.Value);
    }

    [Fact]
    public void The_console_is_served_under_console_on_the_apis_host_as_a_hardened_deployment_that_reaches_the_api_in_the_cluster()
    {
        var deployment = Single<V1Deployment>("console");
        var container = deployment.Spec.Template.Spec.Containers[0];
        var config = Single<V1ConfigMap>("console-config").Data;
        var ingress = Single<V1Ingress>("console");
        var apiIngress = Single<V1Ingress>("api");

        Assert.Equal(2, deployment.Spec.Replicas);
        Assert.Equal("llmapi-console:latest", container.Image);
        Assert.Equal(("/alive", "/health"), (container.LivenessProbe.HttpGet.Path, container.ReadinessProbe.HttpGet.Path));
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal("384Mi", container.Resources.Limits["memory"].ToString());
        Assert.Equal("1", Single<V1PodDisruptionBudget>("console").Spec.MinAvailable.Value);

        // Same host and certificate as the API, below /console, which the console serves as its path base.
        var path = Assert.Single(ingress.Spec.Rules[0].Http.Paths);
        Assert.Equal(("/console", "Prefix", "console"), (path.Path, path.PathType, path.Backend.Service.Name));
        Assert.Equal(apiIngress.Spec.Rules[0].Host, ingress.Spec.Rules[0].Host);
        Assert.Equal(apiIngress.Spec.Tls[0].SecretName, ingress.Spec.Tls[0].SecretName);
        Assert.Equal("/console", config["Console__PathBase"]);

        // The API through its Service; Production (Secure cookies); client addresses only from trusted proxies.
        Assert.Equal("http://api:80", config["Console__Api"]);
        Assert.Equal("Production", config["ASPNETCORE_ENVIRONMENT"]);
        Assert.Equal("10.0.0.0/8", config["ForwardedHeaders__TrustedNetworks__0"]);
        Assert.Equal("metrics-scrape-key", container.Env.Single(e => e.Name == "Metrics__ScrapeKey").ValueFrom.SecretKeyRef.Key);
        Assert.Contains(container.Env, e => e.Name == "ConnectionStrings__cache" && e.Value.Contains("$(SECRET_CACHE_PASSWORD)", StringComparison.Ordinal));

        // The API stays open to the ingress controller although the console references it.
        Assert.Null(Assert.Single(Single<V1NetworkPolicy>("api").Spec.Ingress).FromProperty);
    }

    [Fact]
    public void Redis_is_a_stateful_set_with_a_volume_and_the_apphosts_persistence_and_memory_settings()
    {
        var redis = Single<V1StatefulSet>("cache");
        var container = redis.Spec.Template.Spec.Containers[0];
        var commandLine = string.Join(' ', container.Args);

        Assert.Equal("5Gi", Assert.Single(redis.Spec.VolumeClaimTemplates).Spec.Resources.Requests["storage"].ToString());
        foreach (var setting in new[] { "--appendonly yes", "--appendfsync everysec", "--maxmemory 512mb", "--maxmemory-policy noeviction" })
        {
            Assert.Contains(setting, commandLine, StringComparison.Ordinal);
        }

        Assert.Contains("redis-cli", string.Join(' ', container.LivenessProbe.Exec.Command), StringComparison.Ordinal);
        Assert.Contains("ping", string.Join(' ', container.ReadinessProbe.Exec.Command), StringComparison.Ordinal);
        Assert.True(redis.Spec.Template.Spec.SecurityContext.RunAsNonRoot);
        Assert.Equal("cache-password", container.Env.Single(e => e.Name == "REDIS_PASSWORD").ValueFrom.SecretKeyRef.Key);
        Assert.Equal(redis.Spec.ServiceName, Single<V1Service>("cache").Metadata.Name);
    }

    [Fact]
    public void The_api_runs_as_measured_a_tenth_of_traces_no_span_per_redis_command_workstation_gc_with_a_set_gen0_budget_a_short_thread_pool_spin_no_tiering_delay_and_a_heap_inside_its_memory_limit()
    {
        var config = Single<V1ConfigMap>("api-config").Data;

        Assert.Equal("parentbased_traceidratio", config["OTEL_TRACES_SAMPLER"]);
        Assert.Equal("0.1", config["OTEL_TRACES_SAMPLER_ARG"]);
        Assert.Equal("true", config["Aspire__StackExchange__Redis__DisableTracing"]);
        var heap = Convert.ToInt64(config["DOTNET_GCHeapHardLimit"], 16);
        var limit = Single<V1Deployment>("api").Spec.Template.Spec.Containers[0].Resources.Limits["memory"].ToInt64();
        Assert.InRange(heap, limit / 2, limit * 3 / 4);
        Assert.Equal("0", config["DOTNET_gcServer"]);
        Assert.InRange(Convert.ToInt64(config["DOTNET_GCgen0size"], 16), 4L << 20, heap / 8);
        Assert.Equal("20", config["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"]);
        Assert.Equal("0", config["DOTNET_TC_CallCountingDelayMs"]);
    }

    [Fact]
    public async Task Probe_paths_are_routes_the_api_answers_with_200()
    {
        var container = Single<V1Deployment>("api").Spec.Template.Spec.Containers[0];
        using var client = api.CreateClient();

        foreach (var probe in new[] { container.LivenessProbe, container.ReadinessProbe, container.StartupProbe })
        {
            using var response = await client.GetAsync(probe.HttpGet.Path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Theory]
    [InlineData("with spaces and $dollars")]
    [InlineData("")]
    public async Task The_generated_redis_command_takes_any_password_whole(string password)
    {
        var container = Single<V1StatefulSet>("cache").Spec.Template.Spec.Containers[0];
        Assert.Equal(["/bin/sh"], container.Command);
        var port = RedisServer.FreeTcpPort();
        var directory = Directory.CreateTempSubdirectory("llmapi-generated-redis-").FullName;
        // The generated command as the container runs it, with only a port and a data folder of the test's added.
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"{container.Args[^1]} --port {port} --dir {directory} --bind 127.0.0.1");
        start.Environment["REDIS_PASSWORD"] = password;
        using var redis = Process.Start(start)!;
        try
        {
            var options = StackExchange.Redis.ConfigurationOptions.Parse($"127.0.0.1:{port}");
            options.Password = password;
            options.AbortOnConnectFail = false;
            await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(options);
            await Eventually.MatchAsync(() => Task.FromResult(connection.IsConnected), c => c, TimeSpan.FromSeconds(10), "the generated command to start Redis");
            Assert.True((await connection.GetDatabase().PingAsync()) >= TimeSpan.Zero);
        }
        finally
        {
            redis.Kill(entireProcessTree: true); // the shell and the redis-server it started
            await redis.WaitForExitAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Changing_the_model_changes_the_output()
    {
        await PublishWithAsync(["Api:Replicas=4"], (directory, objects) =>
            Assert.Equal(4, objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "api").Spec.Replicas));
    }

    [Fact]
    public async Task Every_model_upstream_reaches_the_api_and_its_key_only_the_secret()
    {
        string[] settings =
        [
            "Llm:Upstreams:gpu1:Endpoint=http://10.0.0.5:11434", "Llm:Upstreams:gpu1:Models:0=llama3:latest",
            "Llm:Upstreams:cloud:Endpoint=https://api.groq.com/openai/v1", "Llm:Upstreams:cloud:Provider=OpenAI", "Llm:Upstreams:cloud:Key=sk-never-written",
        ];
        await PublishWithAsync(settings, (directory, objects) =>
        {
            var config = objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "api-config").Data;
            Assert.Equal("http://10.0.0.5:11434", config["Llm__Upstreams__gpu1__Endpoint"]);
            Assert.Equal("llama3:latest", config["Llm__Upstreams__gpu1__Models__0"]);
            Assert.Equal("OpenAI", config["Llm__Upstreams__cloud__Provider"]);
            var key = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "api").Spec.Template.Spec.Containers[0].Env
                .Single(e => e.Name == "Llm__Upstreams__cloud__Key");
            Assert.Equal("llm-cloud-key", key.ValueFrom.SecretKeyRef.Key);
            Assert.Contains("llm-cloud-key=", File.ReadAllText(Path.Combine(directory, "secrets.env.example")), StringComparison.Ordinal);
            Assert.DoesNotContain(Directory.EnumerateFiles(directory), f => File.ReadAllText(f).Contains("sk-never-written", StringComparison.Ordinal));
        });
    }

    /// <summary>Publishes with extra AppHost settings into a temporary folder and checks what was written there.</summary>
    private static async Task PublishWithAsync(string[] settings, Action<string, IReadOnlyList<object>> check)
    {
        var directory = Directory.CreateTempSubdirectory("llmapi-manifests-").FullName;
        try
        {
            var (exitCode, output, _) = await Repository.PublishKubernetesAsync(directory, settings);
            Assert.True(exitCode == 0, output);
            check(directory, GeneratedManifestsFixture.LoadAll(directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [KubectlFact]
    public async Task Kubectl_kustomize_renders_the_base_with_its_generated_secret()
    {
        var directory = Directory.CreateTempSubdirectory("llmapi-kustomize-").FullName;
        try
        {
            foreach (var file in Directory.EnumerateFiles(Repository.ManifestsDirectory).Where(f => Path.GetFileName(f) != "secrets.env"))
            {
                File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
            }

            var secrets = File.ReadAllLines(Path.Combine(directory, "secrets.env.example"))
                .Where(l => !l.StartsWith('#')).Select(l => l + "test-value-0123456789abcdef0123456789");
            await File.WriteAllLinesAsync(Path.Combine(directory, "secrets.env"), secrets);

            var (exitCode, rendered, errors) = await Executables.RunToEndAsync(new ProcessStartInfo("kubectl", ["kustomize", directory]), "kubectl kustomize", TimeSpan.FromMinutes(1));

            Assert.True(exitCode == 0, errors);
            Assert.Contains("kind: Secret", rendered, StringComparison.Ordinal);
            Assert.Contains("kind: StatefulSet", rendered, StringComparison.Ordinal);
            Assert.Contains("kind: HorizontalPodAutoscaler", rendered, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

/// <summary>A fact that needs kubectl; where kubectl is not on PATH it is skipped and says so.</summary>
public sealed class KubectlFactAttribute : FactAttribute
{
    public KubectlFactAttribute()
    {
        if (Executables.Find("kubectl") is null)
        {
            Skip = "kubectl is not on PATH: install kubectl to check that `kubectl kustomize aspire-manifests` renders.";
        }
    }
}
