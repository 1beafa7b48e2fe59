using LlmApi.AppHost.Cache;
using LlmApi.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

var (cacheMode, redisServerPath, cacheError) = CacheModeResolver.Resolve(builder);
if (cacheError is not null)
{
    Console.Error.WriteLine(cacheError);
    return 1;
}

var cache = builder.AddCache("cache", cacheMode, redisServerPath);

// Secrets shared by every replica. Local runs generate them; deployments supply them (see README).
var jwtSigningKey = builder.AddParameter("jwt-signing-key", new GenerateParameterDefault { MinLength = 64, Special = false }, secret: true);
var operatorKey = builder.AddParameter("operator-key", new GenerateParameterDefault { MinLength = 40, Special = false }, secret: true);

#pragma warning disable ASPIREPROBES001 // Probes are experimental; they are the only way a publisher can read the probe paths back.
// Probe timings are the seed's: liveness 30 s / 10 s / 3, readiness 10 s / 5 s / 3, startup 5 s x 30 (150 s to start).
builder.AddProject<Projects.LlmApi_Api>("api")
    .WithReplicas(3)
    .WithCache(cache)
    .WithEnvironment("Jwt__SigningKey", jwtSigningKey)
    .WithEnvironment("Operator__Key", operatorKey)
    .WithHttpProbe(ProbeType.Liveness, "/alive", initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3, endpointName: "http")
    .WithHttpProbe(ProbeType.Readiness, "/health", initialDelaySeconds: 10, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3, endpointName: "http")
    .WithAdditionalHttpProbe(ProbeType.Startup, "/alive", endpointName: "http", periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 30)
    .WithExternalHttpEndpoints();
#pragma warning restore ASPIREPROBES001

builder.Build().Run();
return 0;
