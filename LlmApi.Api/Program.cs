using LlmApi.Api.Infrastructure;
using LlmApi.Api.Root;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();

app.MapDefaultEndpoints();
app.MapRootApi();

app.Run();

/// <summary>Entry point, public so that integration tests can host the API in-process.</summary>
public partial class Program;
