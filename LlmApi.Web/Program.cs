using LlmApi.Web;
using LlmApi.Web.Components;
using LlmApi.Web.Session;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddConsoleServices();

var app = builder.Build();

app.UseTrustedProxies(); // X-Forwarded-For/-Proto only from ForwardedHeaders:TrustedNetworks
app.UseConsolePathBase();
app.UseRouting(); // after the path base is taken off, so routes match the rest of the path
// Every error page is the console's own, in every environment: no stack trace ever reaches a browser. An ended
// session (the API answered 401) signs out and goes back to sign-in (SessionEndedHandler).
app.UseExceptionHandler("/error", createScopeForErrors: true);
app.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true);
if (!app.Environment.IsDevelopment())
{
    app.UseHsts();
}

app.UseMiddleware<SecurityHeadersMiddleware>();
app.UseAuthentication();
app.UseMiddleware<LogScopeMiddleware>();
app.UseAuthorization();
app.UseAntiforgery();

app.MapDefaultEndpoints();
app.MapStaticAssets();
app.MapSignOut();
app.MapRazorComponents<App>();

app.Run();
