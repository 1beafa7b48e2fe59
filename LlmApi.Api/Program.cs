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

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.UseTrustedProxies(); // X-Forwarded-For only from ForwardedHeaders:TrustedNetworks (ServiceDefaults)
app.UseResponseHeaders(); // nosniff, no-store
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
