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

app.UseClientAddress(); // X-Forwarded-For only from ForwardedHeaders:TrustedNetworks
app.UseMiddleware<ResponseHeadersMiddleware>();
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
app.MapAuthApi();
app.MapUsersApi();
app.MapTenantApi();
app.MapOperatorApi();
app.MapApiKeysApi();
app.MapLlmGateway();
app.MapUsageApi();
app.MapAuditApi();

app.Run();
