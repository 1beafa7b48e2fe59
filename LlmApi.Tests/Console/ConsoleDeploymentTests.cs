extern alias Console;

using System.Text.RegularExpressions;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Console;

/// <summary>
/// The console as Kubernetes runs it: Production, behind a TLS-terminating Ingress that forwards
/// <c>X-Forwarded-Proto: https</c>, under <c>/console</c> on the API's host. Plain HTTP, with an in-process console
/// over the test API and Redis; the browser tests run the Development configuration of the AppHost.
/// </summary>
[Collection(SharedApi.Name)]
public sealed partial class ConsoleDeploymentTests(ApiFixture fixture)
{
    [Fact]
    public async Task In_production_the_cookies_are_secure_strict_http_only_and_scoped_to_the_consoles_path()
    {
        using var api = fixture.CreateClient();
        var admin = await api.RegisterAsync();
        await using var console = new ServiceFactory<Console::Program>(new Dictionary<string, string?>
        {
            ["ConnectionStrings:cache"] = fixture.Redis.ConnectionString,
            ["Console:Api"] = api.BaseAddress!.ToString(),
            ["Console:PathBase"] = "/console",
            ["ForwardedHeaders:TrustedNetworks:0"] = "127.0.0.1/32", // the test is the ingress controller
        }, "Production");
        using var started = console.CreateClient(); // starts Kestrel, which sets the address clients use
        // A client of its own: the factory's Kestrel clients follow redirects whatever their options say.
        using var browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = console.ClientOptions.BaseAddress };

        using var signInPage = await browser.SendAsync(Through("GET", "/console/signin"));
        Assert.Equal(HttpStatusCode.OK, signInPage.StatusCode);
        var html = await signInPage.Content.ReadAsStringAsync();
        Assert.Contains("<base href=\"/console/\"", html, StringComparison.Ordinal);
        var antiforgery = Assert.Single(signInPage.Headers.GetValues("Set-Cookie"));
        AssertHardened(antiforgery, "__Secure-console-antiforgery");

        // A page that needs a session sends the browser to sign in, and back there afterwards.
        using var challenge = await browser.SendAsync(Through("GET", "/console/keys"));
        Assert.Equal(HttpStatusCode.Redirect, challenge.StatusCode);
        Assert.Equal("/console/signin?returnUrl=%2Fconsole%2Fkeys", challenge.Headers.Location?.PathAndQuery);

        using var signIn = Through("POST", "/console/signin?returnUrl=%2Fconsole%2Fkeys");
        signIn.Headers.Add("Cookie", antiforgery.Split(';')[0]);
        signIn.Content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "signin",
            ["__RequestVerificationToken"] = FormToken().Match(html).Groups[1].Value,
            ["Input.Email"] = admin.Email,
            ["Input.Password"] = admin.Password,
            ["Input.Domain"] = admin.Domain,
        });
        using var signedIn = await browser.SendAsync(signIn);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/console/keys", signedIn.Headers.Location?.AbsolutePath);
        var session = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("__Secure-console=", StringComparison.Ordinal));
        AssertHardened(session, "__Secure-console");

        // Signed in, a page of the tenant's keys, with the session cookie alone.
        using var keysPage = Through("GET", "/console/keys");
        keysPage.Headers.Add("Cookie", session.Split(';')[0]);
        using var keys = await browser.SendAsync(keysPage);
        Assert.Equal(HttpStatusCode.OK, keys.StatusCode);
        Assert.Contains("Create a key", await keys.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Over plain HTTP (no proxy said https) the console refuses to hand out a form at all.
        using var insecure = await browser.GetAsync("/console/signin");
        Assert.NotEqual(HttpStatusCode.OK, insecure.StatusCode);
        Assert.False(insecure.Headers.TryGetValues("Set-Cookie", out _));

        // Nothing secret in what the console logged, at any level: no password, no token, no cookie.
        var logs = console.Logs.Lines.ToList();
        Assert.NotEmpty(logs);
        Assert.DoesNotContain(logs, line => line.Contains(admin.Password, StringComparison.Ordinal));
        Assert.DoesNotContain(logs, line => line.Contains("eyJ", StringComparison.Ordinal)); // a JWT's first bytes
        Assert.DoesNotContain(logs, line => line.Contains(session.Split(';')[0].Split('=', 2)[1][..20], StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/console/keys", "/console", "keys")]
    [InlineData("/keys?x=1", "", "keys?x=1")]
    [InlineData("//evil.example.com/keys", "/console", "")]
    [InlineData("/\\evil.example.com", "", "")]
    [InlineData("https://evil.example.com/", "", "")]
    [InlineData("keys", "", "")]
    [InlineData(null, "", "")]
    public void After_sign_in_only_a_path_of_the_console_is_followed(string? returnUrl, string pathBase, string expected) =>
        Assert.Equal(expected, Console::LlmApi.Web.Components.Pages.SignIn.LocalReturnUrl(returnUrl, new Microsoft.AspNetCore.Http.PathString(pathBase.Length == 0 ? null : pathBase)));

    private static HttpRequestMessage Through(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Add("X-Forwarded-Proto", "https");
        return request;
    }

    private static void AssertHardened(string setCookie, string name)
    {
        var attributes = setCookie.Split(';', StringSplitOptions.TrimEntries).Skip(1).Select(a => a.ToLowerInvariant()).ToList();
        Assert.StartsWith(name + "=", setCookie, StringComparison.Ordinal);
        Assert.Contains("secure", attributes);
        Assert.Contains("httponly", attributes);
        Assert.Contains("samesite=strict", attributes);
        Assert.Contains("path=/console", attributes);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex FormToken();
}
