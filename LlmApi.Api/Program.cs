using LlmApi.Api.ApiKeys;
using LlmApi.Api.Audit;
using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Llm;
using LlmApi.Api.Platform;
using LlmApi.Api.Root;
using LlmApi.Api.Tenants;
using LlmApi.Api.Usage;
using LlmApi.Api.Users;

// ASP.NET Core 10 deserializes JSON bodies from the request's PipeReader, and when a client goes away in the middle of
// a body that reader is left mid-read: Kestrel then logs "Connection processing ended abnormally" with a stack for
// every such connection, which a client can repeat at will. The stream-based reader, the framework's own switch, ends
// those requests quietly (README, "Health, telemetry and logs"; MalformedInputTests).
AppContext.SetSwitch("Microsoft.AspNetCore.UseStreamBasedJsonParsing", true);

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.UseTrustedProxies(); // X-Forwarded-For only from ForwardedHeaders:TrustedNetworks (ServiceDefaults)
app.UseResponseHeaders(); // nosniff, no-store
app.UseMiddleware<RecalledTokenAccessMiddleware>(); // the access check of a known token, ahead of the pipeline (see there)
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseMiddleware<RequestCharsetMiddleware>();
app.UseAuthentication();
app.UseMiddleware<LogScopeMiddleware>();
app.UseAuthorization();
app.UseRateLimiter();

app.MapDefaultEndpoints();
app.MapApiDocumentation();
app.MapRootApi();

// The system of record: a write is acknowledged only once it is safe from a failover (Redis:WaitForReplicas).
var records = app.MapGroup(string.Empty).AddEndpointFilter<ReplicatedWritesFilter>();
records.MapAuthApi();
records.MapUsersApi();
records.MapTenantApi();
records.MapOperatorApi();
records.MapApiKeysApi();
records.MapUsageApi();
records.MapAuditApi();

app.MapLlmGateway();

app.Run();
