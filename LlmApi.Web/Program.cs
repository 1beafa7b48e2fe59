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

// Scripts, styles and forms only from the console itself (its one script is the Copy button); never framed; no
// referrer to other sites. The shared defaults add nosniff and no-store on pages, which carry a tenant's data.
app.UseResponseHeaders(
    new("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"),
    new("X-Frame-Options", "DENY"),
    new("Referrer-Policy", "same-origin"));
app.UseAuthentication();
app.UseMiddleware<LogScopeMiddleware>();
app.UseAuthorization();
app.UseAntiforgery();

app.MapDefaultEndpoints();
app.MapStaticAssets();
app.MapSignOut();
app.MapRazorComponents<App>();

app.Run();
