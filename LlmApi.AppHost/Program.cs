using Microsoft.Extensions.Configuration;
using LlmApi.AppHost;
using LlmApi.AppHost.Cache;
using LlmApi.AppHost.Kubernetes;

var builder = DistributedApplication.CreateBuilder(args);

var cacheSetup = CacheModeResolver.Resolve(builder);
if (cacheSetup.Error is not null)
{
    Console.Error.WriteLine(cacheSetup.Error);
    return 1;
}

#pragma warning disable ASPIREPROBES001 // Probes are experimental; they are the only way a publisher can read probes back.

// Redis: the system of record for tenants, users and sessions (Cache:Topology: single, sentinel or external).
// Kubernetes, single: a StatefulSet with a 5 Gi volume. Its memory limit leaves room above maxmemory (512mb) for the
// append-only file rewrite, so Redis is not OOM-killed. Sentinel: see Cache/SentinelTopology.cs.
var cache = builder.AddCache("cache", cacheSetup);
if (cache.Connection.Resource is ContainerResource redis)
{
    var redisPing = new[] { "sh", "-c", "redis-cli -a \"$REDIS_PASSWORD\" --no-auth-warning ping | grep -q PONG" };
    builder.CreateResourceBuilder(redis)
        .WithPersistentStorage("5Gi", "/data")
        .WithComputeResources(cpuRequest: "200m", memoryRequest: "256Mi", cpuLimit: "1000m", memoryLimit: "768Mi")
        .WithHardenedSecurityContext(runAsUser: 999, "/tmp")
        .WithExecProbe(ProbeType.Liveness, redisPing, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 3)
        .WithExecProbe(ProbeType.Readiness, redisPing, initialDelaySeconds: 5, periodSeconds: 5, failureThreshold: 3);
}

// The model servers: Llm:Upstreams entries, or one Ollama (a container, or the llm-endpoint parameter).
var upstreams = builder.AddLlmUpstreams();

// Secrets shared by every replica. Local runs generate them; deployments supply them (see README).
var jwtSigningKey = builder.AddParameter("jwt-signing-key", new GenerateParameterDefault { MinLength = 64, Special = false }, secret: true);
var operatorKey = builder.AddParameter("operator-key", new GenerateParameterDefault { MinLength = 40, Special = false }, secret: true);
// Prometheus presents it as a bearer token; without it /metrics (tenant ids and usage) answers 401.
var metricsScrapeKey = builder.AddParameter("metrics-scrape-key", new GenerateParameterDefault { MinLength = 40, Special = false }, secret: true);

var apiHost = builder.AddParameter("api-host", new ConstantParameterDefault("llm-api.example.com"));

// Probe timings are the seed's: liveness 30 s / 10 s / 3, readiness 10 s / 5 s / 3, startup 5 s x 30 (150 s to start).
var api = builder.AddProject<Projects.LlmApi_Api>("api")
    .WithReplicas(builder.Configuration.GetValue("Api:Replicas", 3))
    .WithCache(cache)
    .WithLlmUpstreams(upstreams)
    .WithEnvironment("Jwt__SigningKey", jwtSigningKey)
    .WithEnvironment("Operator__Key", operatorKey)
    .WithEnvironment("Metrics__ScrapeKey", metricsScrapeKey)
    .WithHttpProbe(ProbeType.Liveness, "/alive", initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3, endpointName: "http")
    .WithHttpProbe(ProbeType.Readiness, "/health", initialDelaySeconds: 10, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3, endpointName: "http")
    .WithAdditionalHttpProbe(ProbeType.Startup, "/alive", endpointName: "http", periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 30)
    .WithExternalHttpEndpoints()
    // Kubernetes policy, from the seed.
    .WithDeploymentImage(builder.AddParameter("api-image", new ConstantParameterDefault("llmapi-api:latest")))
    // Streams (SSE, NDJSON) pass the ingress piece by piece, for as long as Llm:Timeout lets a call run; image prompts fit.
    .WithIngress(apiHost, controllerSettings: new Dictionary<string, string>
    {
        ["nginx.ingress.kubernetes.io/proxy-buffering"] = "off",
        ["nginx.ingress.kubernetes.io/proxy-request-buffering"] = "off",
        ["nginx.ingress.kubernetes.io/proxy-read-timeout"] = "180",
        ["nginx.ingress.kubernetes.io/proxy-send-timeout"] = "180",
        ["nginx.ingress.kubernetes.io/proxy-body-size"] = "16m",
    })
    .WithAutoscaling(min: 3, max: 10, cpu: 70, memory: 80)
    .WithDisruptionBudget(minAvailable: 2)
    .WithRollingUpdate(maxSurge: 1, maxUnavailable: 1)
    .WithComputeResources(cpuRequest: "200m", memoryRequest: "256Mi", cpuLimit: "1000m", memoryLimit: "512Mi")
    .WithHardenedSecurityContext(runAsUser: 1001, "/tmp")
    .WithTopologySpread();

// The tenant console: a web app over the API (it holds no data of its own), its sessions and data protection keys in
// Redis so that every replica serves every browser. In Kubernetes it shares the API's host, under /console.
var console = builder.AddProject<Projects.LlmApi_Web>("console")
    .WithReplicas(builder.Configuration.GetValue("Console:Replicas", 2))
    .WithCache(cache)
    .WithEnvironment("Console__Api", api.GetEndpoint("http"))
    .WithReferenceRelationship(api)
    .WaitFor(api)
    .WithEnvironment("Metrics__ScrapeKey", metricsScrapeKey)
    .WithHttpProbe(ProbeType.Liveness, "/alive", initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3, endpointName: "http")
    .WithHttpProbe(ProbeType.Readiness, "/health", initialDelaySeconds: 5, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3, endpointName: "http")
    .WithExternalHttpEndpoints()
    .WithDeploymentImage(builder.AddParameter("console-image", new ConstantParameterDefault("llmapi-console:latest")))
    .WithIngress(apiHost, path: ConsolePath, tlsSecretName: "api-tls")
    .WithAutoscaling(min: 2, max: 4, cpu: 70, memory: 80)
    .WithDisruptionBudget(minAvailable: 1)
    .WithRollingUpdate(maxSurge: 1, maxUnavailable: 0)
    .WithComputeResources(cpuRequest: "100m", memoryRequest: "128Mi", cpuLimit: "500m", memoryLimit: "384Mi")
    .WithHardenedSecurityContext(runAsUser: 1001, "/tmp")
    .WithTopologySpread();
#pragma warning restore ASPIREPROBES001

if (builder.ExecutionContext.IsPublishMode)
{
    // Client addresses (throttling, audit) come from X-Forwarded-For only through the ingress controller's pods (and,
    // for the API, the console's): not from any sender, which is what ASPNETCORE_FORWARDEDHEADERS_ENABLED would allow.
    var trustedProxies = builder.AddParameter("trusted-proxies", new ConstantParameterDefault("10.0.0.0/8"));
    var otlpEndpoint = builder.AddParameter("otlp-endpoint", new ConstantParameterDefault("http://otel-collector.observability:4317"));
    var traceSampling = builder.AddParameter("trace-sampling", new ConstantParameterDefault("0.1"));
    foreach (var service in new[] { api, console })
    {
        // Locally the AppHost points telemetry at its dashboard; a cluster sends it to its own collector.
        service.WithEnvironment("ASPNETCORE_ENVIRONMENT", "Production")
            .WithEnvironment("ASPNETCORE_FORWARDEDHEADERS_ENABLED", "false")
            .WithEnvironment("ForwardedHeaders__TrustedNetworks__0", trustedProxies)
            .WithEnvironment("OTEL_SERVICE_NAME", service.Resource.Name)
            .WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", otlpEndpoint)
            // A tenth of the traces (a caller's sampled trace is always kept whole): tracing every call and every Redis
            // command of it cost 15% of a gateway call's CPU (docs/benchmarks.md). Locally every trace reaches the dashboard.
            .WithEnvironment("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
            .WithEnvironment("OTEL_TRACES_SAMPLER_ARG", traceSampling);
    }

    // No span per Redis command: the instrumentation profiles every command of every request, sampled or not, and
    // holds them for 10 s; at 5,000 calls/s that was 260 MiB of RSS, 30% of a call's CPU and 2.3x the p99
    // (docs/benchmarks.md). The gateway's own spans time its admission and settlement scripts in sampled traces.
    // Locally every Redis command still reaches the dashboard.
    api.WithEnvironment("Aspire__StackExchange__Redis__DisableTracing", "true");
    // The managed heap stays at 320 MiB, leaving the rest of the 512Mi limit to native memory (sockets, buffers, JIT):
    // the GC collects harder near the limit rather than the pod being OOM-killed.
    api.WithEnvironment("DOTNET_GCHeapHardLimit", "0x14000000");
    // Workstation GC, which the runtime uses anyway at the Deployment's one CPU: said explicitly so that a pod given
    // more CPU keeps the same memory behaviour inside its limit (replicas scale out, not up), and so the benchmarks,
    // which run the API with these settings on more cores, measure the collector that runs here (docs/benchmarks.md).
    api.WithEnvironment("DOTNET_gcServer", "0");
    // A 16 MiB allocation budget between gen0 collections. The runtime's default on these machines collected every
    // ~3 MiB, while a few dozen requests in flight held state that survived into gen1 (a gen1 collection per 3.5 gen0);
    // 16 MiB cut the CPU per request of every route by 5-9% (docs/benchmarks.md, eleventh pass; 64 MiB was no better).
    // It is memory the heap limit above already allows for.
    api.WithEnvironment("DOTNET_GCgen0size", "0x1000000");
    // An idle thread-pool worker spins (yielding) for a while before it sleeps, so that work queued just after finds
    // it awake. The default spin costs a model call's CPU under load (a sixth of its samples were in sched_yield); a
    // shorter one keeps the wake-up as quick with one call in flight (no spinning at all added 0.12-0.25 ms to each)
    // and saved 2% of a chat call's and 5% of a stream's CPU at 64 connections (docs/benchmarks.md, sixth pass).
    api.WithEnvironment("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", "20");
    // The runtime compiles a method quickly first and again, optimised, once it has been called often; it starts
    // counting calls only after 100 ms in which no new method was compiled, and ten times that on one CPU, which is
    // what the runtime sees in this pod. Under load new methods keep being compiled for a minute or more, so a replica
    // the autoscaler adds stayed on its slow first code: on one CPU, loaded with chat calls, it took from 85 s to over
    // two minutes to warm and served 44-72 thousand calls in its first minute; counting from the first call, it is warm
    // after 15-35 s and served 98-179 thousand, at the same steady cost per call (docs/benchmarks.md, twenty-eighth
    // pass). The price is 1-4 s more CPU while it starts, before the readiness probe first asks.
    api.WithEnvironment("DOTNET_TC_CallCountingDelayMs", "0");
    // The console is served under the API's host at /console (its Ingress path).
    console.WithEnvironment("Console__PathBase", ConsolePath);
}

builder.AddKubernetesPublishing("kubernetes", new KubernetesEnvironment
{
    Namespace = "llm-api-layer",
    ApplicationName = "llm-api-layer",
    SecretName = "llm-api-layer-secrets",
    Quota = new NamespaceQuota(CpuRequests: "10", CpuLimits: "20", MemoryRequests: "10Gi", MemoryLimits: "20Gi", PersistentVolumeClaims: 8, LoadBalancers: 2),
    ContainerLimits = new ContainerLimits(
        MinCpu: "100m", MinMemory: "64Mi", MaxCpu: "2", MaxMemory: "2Gi",
        DefaultCpuRequest: "100m", DefaultMemoryRequest: "128Mi", DefaultCpuLimit: "500m", DefaultMemoryLimit: "512Mi"),
});

builder.Build().Run();
return 0;

internal static partial class Program
{
    /// <summary>Where the console is served in Kubernetes, on the API's host.</summary>
    private const string ConsolePath = "/console";
}
