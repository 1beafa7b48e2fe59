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
    public async Task In_production_the_cookies_are_secure_strict_http_only_scoped_to_the_consoles_path_and_outlive_a_restart()
    {
        using var api = fixture.CreateClient();
        var admin = await api.RegisterAsync();
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:cache"] = fixture.Redis.ConnectionString,
            ["Console:Api"] = api.BaseAddress!.ToString(),
            ["Console:PathBase"] = "/console",
            ["ForwardedHeaders:TrustedNetworks:0"] = "127.0.0.1/32", // the test is the ingress controller
        };
        await using var console = new ServiceFactory<Console::Program>(settings, "Production");
        using var started = console.CreateClient(); // starts Kestrel, which sets the address clients use
        // A client of its own: the factory's Kestrel clients follow redirects whatever their options say.
        using var browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = console.ClientOptions.BaseAddress };

        using var signInPage = await browser.SendAsync(Through("GET", "/console/signin"));
        Assert.Equal(HttpStatusCode.OK, signInPage.StatusCode);
        var html = await signInPage.Content.ReadAsStringAsync();
        Assert.Contains("<base href=\"/console/\"", html, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", signInPage.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("DENY", signInPage.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("nosniff", signInPage.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("no-store", signInPage.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
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
        Assert.Equal(HttpStatusCode.OK, await KeysPageAsync(browser, session));

        // What makes that so: the key ring and the session are in Redis (a key ring on the machine's disk would also be
        // shared by two consoles on one machine, but not by two pods), and the session there is encrypted.
        var redis = fixture.Redis.Connection.GetDatabase();
        Assert.True(await redis.ListLengthAsync("console:data-protection-keys") > 0);
        var sessions = new List<string>();
        foreach (var endpoint in fixture.Redis.Connection.GetEndPoints())
        {
            var server = fixture.Redis.Connection.GetServer(endpoint);
            if (!server.IsReplica)
            {
                await foreach (var key in server.KeysAsync(pattern: "console:session:*"))
                {
                    sessions.Add(key.ToString());
                }
            }
        }

        var stored = await redis.StringGetAsync(Assert.Single(sessions));
        Assert.True(JwtShape.IsIn(admin.Token), "the check below recognises one of the API's tokens");
        Assert.False(JwtShape.IsIn(stored.ToString()), "the stored session holds a JWT in the clear");
        Assert.True(await redis.KeyTimeToLiveAsync(sessions[0]) is { } lifetime && lifetime > TimeSpan.FromHours(3), "the session lasts as long as the token");

        // A console that starts afresh (a restarted or a new replica: its own process state, the same Redis) reads the
        // same cookie: the session and the keys that protect it are in Redis, not in a process.
        await using (var restarted = new ServiceFactory<Console::Program>(settings, "Production"))
        {
            using var _ = restarted.CreateClient();
            using var other = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = restarted.ClientOptions.BaseAddress };
            Assert.NotEqual(console.ClientOptions.BaseAddress, other.BaseAddress);
            Assert.Equal(HttpStatusCode.OK, await KeysPageAsync(other, session));
        }

        // Over plain HTTP (no proxy said https) the console refuses to hand out a form at all.
        using var insecure = await browser.GetAsync("/console/signin");
        Assert.NotEqual(HttpStatusCode.OK, insecure.StatusCode);
        Assert.False(insecure.Headers.TryGetValues("Set-Cookie", out _));

        // Nothing secret in what the console logged, at any level: no password, no token, no cookie.
        var logs = console.Logs.Lines.ToList();
        Assert.NotEmpty(logs);
        Assert.DoesNotContain(logs, line => line.Contains(admin.Password, StringComparison.Ordinal));
        Assert.DoesNotContain(logs, JwtShape.IsIn);
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

    /// <summary>The keys page with only the session cookie: 200 and the page when signed in, a redirect when not.</summary>
    private static async Task<HttpStatusCode> KeysPageAsync(HttpClient browser, string sessionCookie)
    {
        using var request = Through("GET", "/console/keys");
        request.Headers.Add("Cookie", sessionCookie.Split(';')[0]);
        using var response = await browser.SendAsync(request);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            Assert.Contains("Create a key", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        return response.StatusCode;
    }

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
