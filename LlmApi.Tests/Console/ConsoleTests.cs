using System.Text.Json;
using LlmApi.Tests.Infrastructure;
using LlmApi.Tests.Llm;
using Microsoft.Playwright;
using static LlmApi.Tests.Console.ConsolePages;

namespace LlmApi.Tests.Console;

/// <summary>
/// The tenant console in a real browser (Debian's chromium through Playwright), against the real AppHost: two console
/// replicas and three API replicas behind the AppHost's proxies, one Redis, a test model server.
/// </summary>
[Collection(SharedAppHost.Name)]
public sealed class ConsoleTests(AppHostFixture fixture)
{
    /// <summary>"Name" alone, not "Username" or "Name or domain".</summary>
    private static readonly PageGetByLabelOptions ExactLabel = new() { Exact = true };

    [Fact]
    public async Task An_admin_adds_a_user_creates_a_key_uses_it_and_sees_the_call_in_usage_and_the_audit_trail()
    {
        using var api = fixture.CreateApiClient();
        var admin = await api.RegisterAsync();
        await using var browser = await ConsoleBrowser.LaunchAsync(fixture.ConsoleUrl);
        var page = await browser.NewPersonAsync();

        await SignInAsync(page, admin.Email, admin.Password, admin.Domain);
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("Getting started");
        await ConsoleBrowser.ScreenshotAsync(page, "overview-first-sign-in");

        // A user, added from the form.
        await GoToAsync(page, "Users");
        await page.GetByLabel("Username").FillAsync("grace");
        await page.GetByLabel("Email").FillAsync($"grace@{admin.Domain}");
        await page.GetByLabel("Initial password").FillAsync("grace's first password");
        await page.GetByLabel("Role").SelectOptionAsync("user");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add user" }).ClickAsync();
        Assert.Contains("grace was added", await StatusAsync(page), StringComparison.Ordinal);
        var grace = page.GetByRole(AriaRole.Row).Filter(new() { HasText = $"grace@{admin.Domain}" });
        Assert.Equal(1, await grace.CountAsync());
        await ConsoleBrowser.ScreenshotAsync(page, "users");
        await grace.GetByRole(AriaRole.Button, new() { Name = "Make admin: grace" }).ClickAsync();
        Assert.Contains("grace is now an admin", await StatusAsync(page), StringComparison.Ordinal);
        await grace.GetByRole(AriaRole.Button, new() { Name = "Deactivate: grace" }).ClickAsync();
        Assert.Contains("inactive", await grace.InnerTextAsync(), StringComparison.Ordinal);
        using (var graceSignIn = await api.LoginAsync($"grace@{admin.Domain}", "grace's first password", admin.Domain))
        {
            Assert.Equal(HttpStatusCode.Forbidden, graceSignIn.StatusCode); // the API refuses a deactivated account
        }

        await grace.GetByRole(AriaRole.Button, new() { Name = "Reactivate: grace" }).ClickAsync();
        Assert.Contains("active again", await StatusAsync(page), StringComparison.Ordinal);

        // A key with an allow-list and a limit, shown once, copied, then used against the gateway.
        await GoToAsync(page, "API keys");
        await page.GetByLabel("Name", ExactLabel).FillAsync("support bot");
        await page.GetByLabel("Models it may use").FillAsync("llama3, mistral");
        await page.GetByLabel("Requests per minute").FillAsync("100");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var key = await page.GetByLabel("The new API key").InputValueAsync();
        Assert.StartsWith("llmk_", key, StringComparison.Ordinal);
        await page.GetByRole(AriaRole.Button, new() { Name = "Copy" }).ClickAsync();
        // The clipboard is written asynchronously; the page says "Copied." once it has been, as the user sees it.
        await Assertions.Expect(page.Locator(".created-key").GetByRole(AriaRole.Status)).ToHaveTextAsync("Copied.");
        Assert.Equal(key, await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        Assert.Contains("llama3, mistral", await page.GetByRole(AriaRole.Row).Filter(new() { HasText = "support bot" }).InnerTextAsync(), StringComparison.Ordinal);
        await ConsoleBrowser.ScreenshotAsync(page, "keys-created");
        await page.ReloadAsync();
        Assert.DoesNotContain(key, await page.ContentAsync(), StringComparison.Ordinal); // shown that once only

        using (var call = await api.SendAsync(LlmCalls.OpenAiChat(key, model: "llama3")))
        {
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        }

        // The call, in the usage charts (the bar's hover text) and their tables.
        await GoToAsync(page, "Usage");
        var byKey = page.Locator("#by-key");
        Assert.Contains("support bot", await byKey.Locator("table").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("in 1 call", await byKey.Locator("svg title").First.TextContentAsync(), StringComparison.Ordinal);
        Assert.Contains("llama3", await page.Locator("#by-model table").InnerTextAsync(), StringComparison.Ordinal);
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(today, await page.Locator("#by-day table").InnerTextAsync(), StringComparison.Ordinal);
        await ConsoleBrowser.ScreenshotAsync(page, "usage");

        // The audit trail: everything above, by whom; filtered to key creations.
        await GoToAsync(page, "Audit");
        var trail = await page.InnerTextAsync("table");
        foreach (var entry in new[] { "Signed in", "User added", "API key created", "Organisation registered" })
        {
            Assert.Contains(entry, trail, StringComparison.Ordinal);
        }

        await ConsoleBrowser.ScreenshotAsync(page, "audit");
        await page.GetByLabel("Action").SelectOptionAsync("key.created");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("action=key\\.created"));
        var rows = page.Locator("tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        Assert.Contains("admin", await rows.First.InnerTextAsync(), StringComparison.Ordinal);

        // Deleting, after a confirmation: the user, then the key, which stops working at once.
        await GoToAsync(page, "Users");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete: grace" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, delete grace" }).ClickAsync();
        Assert.Contains("grace was deleted", await StatusAsync(page), StringComparison.Ordinal);
        Assert.Equal(0, await page.GetByRole(AriaRole.Row).Filter(new() { HasText = $"grace@{admin.Domain}" }).CountAsync());
        await GoToAsync(page, "API keys");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete: support bot" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, delete support bot" }).ClickAsync();
        Assert.Contains("was deleted", await StatusAsync(page), StringComparison.Ordinal);
        using var refused = await api.SendAsync(LlmCalls.OpenAiChat(key, model: "llama3"));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task Ending_a_session_from_the_list_signs_that_browser_out()
    {
        using var api = fixture.CreateApiClient();
        var admin = await api.RegisterAsync();
        await using var browser = await ConsoleBrowser.LaunchAsync(fixture.ConsoleUrl);
        var laptop = await browser.NewPersonAsync();
        var phone = await browser.NewPersonAsync(phone: true);
        await SignInAsync(laptop, admin.Email, admin.Password, admin.Domain);
        await SignInAsync(phone, admin.Email, admin.Password, admin.Domain);

        foreach (var path in new[] { "", "users", "keys", "usage", "audit" })
        {
            await phone.GotoAsync(path);
            await AssertFitsTheScreenAsync(phone);
        }

        await phone.GotoAsync("account");
        await ConsoleBrowser.ScreenshotAsync(phone, "account-phone");
        var sessions = phone.Locator("tbody tr");
        Assert.Equal(3, await sessions.CountAsync()); // the registration's, the laptop's, the phone's
        Assert.Contains("(this console session)", await sessions.First.InnerTextAsync(), StringComparison.Ordinal);
        await AssertFitsTheScreenAsync(phone);

        // The newest other session is the laptop's.
        await sessions.Nth(1).GetByRole(AriaRole.Button, new() { Name = "End this session" }).ClickAsync();
        Assert.Contains("The session was ended", await StatusAsync(phone), StringComparison.Ordinal);
        Assert.Equal(2, await phone.Locator("tbody tr").CountAsync());

        await laptop.GotoAsync("users");
        Assert.Contains("/signin", laptop.Url, StringComparison.Ordinal);
        Assert.Contains("Your session ended", await laptop.GetByRole(AriaRole.Status).First.InnerTextAsync(), StringComparison.Ordinal);
        await phone.GotoAsync("users");
        Assert.EndsWith("/users", phone.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_operator_suspends_a_tenant_and_its_admin_is_signed_out_then_reactivates_it()
    {
        using var api = fixture.CreateApiClient();
        var admin = await api.RegisterAsync();
        await using var browser = await ConsoleBrowser.LaunchAsync(fixture.ConsoleUrl);
        var tenantAdmin = await browser.NewPersonAsync();
        var operatorPage = await browser.NewPersonAsync();
        await SignInAsync(tenantAdmin, admin.Email, admin.Password, admin.Domain);
        await SignInAsOperatorAsync(operatorPage, fixture.OperatorKey);

        await operatorPage.GetByLabel("Name or domain").FillAsync(admin.Domain);
        await operatorPage.GetByRole(AriaRole.Button, new() { Name = "Find" }).ClickAsync();
        var row = operatorPage.GetByRole(AriaRole.Row).Filter(new() { HasText = admin.Domain });
        Assert.Contains("active", await row.InnerTextAsync(), StringComparison.Ordinal);
        await ConsoleBrowser.ScreenshotAsync(operatorPage, "operator-tenants");
        await row.GetByRole(AriaRole.Button, new() { Name = "Suspend" }).ClickAsync(); // "Suspend: <tenant>"
        await operatorPage.GetByRole(AriaRole.Button, new() { Name = $"Yes, suspend Tenant {admin.Domain[..8]}" }).ClickAsync();
        Assert.Contains("suspended", await StatusAsync(operatorPage), StringComparison.Ordinal);

        await tenantAdmin.GotoAsync("keys");
        Assert.Contains("/signin", tenantAdmin.Url, StringComparison.Ordinal);
        Assert.Contains("suspended", await tenantAdmin.GetByRole(AriaRole.Status).First.InnerTextAsync(), StringComparison.Ordinal);
        await tenantAdmin.GetByLabel("Email").FillAsync(admin.Email);
        await tenantAdmin.GetByLabel("Password").FillAsync(admin.Password);
        await tenantAdmin.GetByLabel("Organisation domain").FillAsync(admin.Domain);
        await tenantAdmin.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        Assert.False(string.IsNullOrWhiteSpace(await AlertAsync(tenantAdmin)));
        Assert.False(await ShowsInternalsAsync(tenantAdmin));

        // Limits and reactivation from the tenant's page and the list.
        await operatorPage.GetByRole(AriaRole.Link, new() { Name = $"Limits: Tenant {admin.Domain[..8]}" }).ClickAsync();
        await Assertions.Expect(operatorPage.GetByRole(AriaRole.Rowheader, new() { Name = "Changed by the operator" }).First).ToBeVisibleAsync(); // the suspension
        await operatorPage.GetByLabel("Requests per minute").FillAsync("600");
        await operatorPage.GetByRole(AriaRole.Button, new() { Name = "Save limits" }).ClickAsync();
        Assert.Contains("saved", await StatusAsync(operatorPage), StringComparison.Ordinal);
        await GoToAsync(operatorPage, "Tenants");
        await operatorPage.GetByLabel("Name or domain").FillAsync(admin.Domain);
        await operatorPage.GetByRole(AriaRole.Button, new() { Name = "Find" }).ClickAsync();
        row = operatorPage.GetByRole(AriaRole.Row).Filter(new() { HasText = admin.Domain });
        Assert.Contains("600", await row.InnerTextAsync(), StringComparison.Ordinal);
        await row.GetByRole(AriaRole.Button, new() { Name = "Reactivate" }).ClickAsync();
        await SignInAsync(tenantAdmin, admin.Email, admin.Password, admin.Domain);

        await GoToAsync(operatorPage, "Upstreams");
        Assert.Contains("local", await operatorPage.InnerTextAsync("table"), StringComparison.Ordinal);
        await ConsoleBrowser.ScreenshotAsync(operatorPage, "operator-upstreams");

        await operatorPage.GotoAsync($"operator/tenants/{Guid.NewGuid()}");
        Assert.Contains("The tenant was not found.", await AlertAsync(operatorPage), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refusals_are_shown_in_place_as_the_apis_message_the_last_admin_rule_included()
    {
        using var api = fixture.CreateApiClient();
        var admin = await api.RegisterAsync();
        await using var browser = await ConsoleBrowser.LaunchAsync(fixture.ConsoleUrl);
        var page = await browser.NewPersonAsync();

        await page.GotoAsync("signin");
        await page.GetByLabel("Email").FillAsync(admin.Email);
        await page.GetByLabel("Password").FillAsync("not the password");
        await page.GetByLabel("Organisation domain").FillAsync(admin.Domain);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        Assert.Contains("/signin", page.Url, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(await AlertAsync(page)));
        Assert.False(await ShowsInternalsAsync(page));

        await SignInAsync(page, admin.Email, admin.Password, admin.Domain);
        await page.GotoAsync("users");
        var self = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "(you)" });
        await self.GetByRole(AriaRole.Button, new() { Name = "Make user: admin" }).ClickAsync();
        var refusal = await AlertAsync(page);
        Assert.Contains("admin", refusal, StringComparison.OrdinalIgnoreCase);
        Assert.False(await ShowsInternalsAsync(page));
        await ConsoleBrowser.ScreenshotAsync(page, "users-last-admin");

        // A taken email: the API's own words, beside the form.
        await page.GetByLabel("Username").FillAsync("again");
        await page.GetByLabel("Email").FillAsync(admin.Email);
        await page.GetByLabel("Initial password").FillAsync("another password 1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add user" }).ClickAsync();
        Assert.Contains("exists", await AlertAsync(page), StringComparison.OrdinalIgnoreCase);
        Assert.False(await ShowsInternalsAsync(page));

        // A key above the tenant's limit.
        await api.SetTenantLimitsAsync(fixture.OperatorKey, admin.TenantId, new { requestsPerMinute = 10 });
        await page.GotoAsync("keys");
        await page.GetByLabel("Name", ExactLabel).FillAsync("greedy");
        await page.GetByLabel("Requests per minute").FillAsync("11");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        Assert.Contains("cannot exceed", await AlertAsync(page), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_user_sees_their_own_profile_sessions_and_usage_and_no_admin_pages()
    {
        using var api = fixture.CreateApiClient();
        var admin = await api.RegisterAsync();
        var (_, email, token) = await api.CreateMemberAsync(admin);
        using (var call = await api.SendAsync(LlmCalls.OpenAiChat(token, model: "mistral")))
        {
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        }

        await using var browser = await ConsoleBrowser.LaunchAsync(fixture.ConsoleUrl);
        var page = await browser.NewPersonAsync();
        await SignInAsync(page, email, ApiCalls.Password, admin.Domain);

        var nav = await page.InnerTextAsync("nav");
        Assert.DoesNotContain("Users", nav, StringComparison.Ordinal);
        Assert.DoesNotContain("API keys", nav, StringComparison.Ordinal);
        await page.GotoAsync("usage");
        Assert.Contains("mistral", await page.Locator("#by-model table").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#by-user").CountAsync());
        await page.GotoAsync("account");
        Assert.Contains(email, await page.InnerTextAsync("main"), StringComparison.Ordinal);

        await page.GetByLabel("Current password").FillAsync(ApiCalls.Password);
        await page.GetByLabel("New password").FillAsync("a brand new passphrase");
        await page.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        Assert.Contains("Your password was changed", await StatusAsync(page), StringComparison.Ordinal);
        using (var oldPassword = await api.LoginAsync(email, ApiCalls.Password, admin.Domain))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, oldPassword.StatusCode);
        }

        await page.GotoAsync("keys");
        Assert.Contains("not for your account", await page.InnerTextAsync("h1"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tokens_stay_on_the_server_any_replica_serves_a_session_and_forms_need_their_antiforgery_token()
    {
        using var api = fixture.CreateApiClient();
        var admin = await api.RegisterAsync();
        await using var browser = await ConsoleBrowser.LaunchAsync(fixture.ConsoleUrl);
        var page = await browser.NewPersonAsync();
        await SignInAsync(page, admin.Email, admin.Password, admin.Domain);

        Assert.Equal(string.Empty, await page.EvaluateAsync<string>("() => document.cookie"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => localStorage.length + sessionStorage.length"));
        var cookies = await page.Context.CookiesAsync();
        Assert.NotEmpty(cookies);
        foreach (var cookie in cookies)
        {
            Assert.True(cookie.HttpOnly, cookie.Name);
            Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
            Assert.False(JwtShape.IsIn(cookie.Value), $"{cookie.Name} carries a JWT");
            Assert.True(cookie.Value.Length < 1000, $"{cookie.Name} carries {cookie.Value.Length} characters: the session should be on the server");
        }

        // Any replica reads any other's cookie (shared data protection keys, sessions in Redis): ten pages in a row
        // through the AppHost's proxy, which spreads them over both console replicas.
        for (var i = 0; i < 10; i++)
        {
            await page.GotoAsync(i % 2 == 0 ? "keys" : "audit");
            Assert.DoesNotContain("/signin", page.Url, StringComparison.Ordinal);
        }

        // A form posted without its antiforgery token (as from another site's page) is refused, and nothing is created.
        var response = await page.APIRequest.PostAsync("keys", new() { Form = page.APIRequest.CreateFormData().Set("_handler", "create-key").Set("NewKey.Name", "forged") });
        Assert.Equal(400, response.Status);
        await page.GotoAsync("keys");
        Assert.DoesNotContain("forged", await page.InnerTextAsync("main"), StringComparison.Ordinal);

        // Signing out ends the API session too: the token the console held no longer works.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/signin"));
        using var sessions = await api.SendAsync(HttpMethod.Get, "/api/auth/sessions", admin.Token);
        var list = (await sessions.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sessions");
        Assert.Equal(1, list.GetArrayLength()); // only the registration's session is left
    }

    [Fact]
    public async Task Sign_in_works_with_the_keyboard_alone_every_field_has_a_label_and_text_has_aa_contrast()
    {
        using var api = fixture.CreateApiClient();
        var admin = await api.RegisterAsync();
        await using var browser = await ConsoleBrowser.LaunchAsync(fixture.ConsoleUrl);
        var page = await browser.NewPersonAsync();
        await page.GotoAsync("signin");

        foreach (var text in new[] { admin.Email, admin.Password, admin.Domain })
        {
            await TabToNextFieldAsync(page);
            await page.Keyboard.TypeAsync(text);
        }

        await page.Keyboard.PressAsync("Enter");
        await SignedInAsync(page);

        foreach (var path in new[] { "", "users", "keys", "usage", "audit", "account" })
        {
            await page.GotoAsync(path);
            var unlabelled = await page.EvaluateAsync<string[]>("""
                () => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                    .map(e => e.id || e.name)
                """);
            Assert.True(unlabelled.Length == 0, $"{path}: fields without a label: {string.Join(", ", unlabelled)}");
            var faint = await page.EvaluateAsync<string[]>(LowContrastText);
            Assert.True(faint.Length == 0, $"{path}: text below WCAG AA contrast: {string.Join("; ", faint)}");
        }
    }

    /// <summary>
    /// Text whose colour against its background is below WCAG AA (4.5:1, or 3:1 for large text), as "text (ratio)".
    /// The background is the nearest opaque one among the element and its ancestors.
    /// </summary>
    private const string LowContrastText = """
        () => {
          const rgb = c => (c.match(/[\d.]+/g) || []).map(Number);
          const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
          const background = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] === 1) return c; } return [255, 255, 255]; };
          const found = [];
          for (const e of document.querySelectorAll('body *')) {
            const text = [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent.trim()).join(' ').trim();
            const style = getComputedStyle(e);
            if (!text || style.visibility === 'hidden' || e.closest('svg, .visually-hidden, .skip-link') || e.getClientRects().length === 0) continue;
            const [a, b] = [lum(rgb(style.color)), lum(background(e))];
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && parseInt(style.fontWeight) >= 700);
            if (ratio < (large ? 3 : 4.5)) found.push(`${text.slice(0, 40)} (${ratio.toFixed(2)})`);
          }
          return found;
        }
        """;

    private static async Task TabToNextFieldAsync(IPage page)
    {
        for (var i = 0; i < 10; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            if (await page.EvaluateAsync<bool>("() => document.activeElement.tagName === 'INPUT'"))
            {
                return;
            }
        }

        throw new Xunit.Sdk.XunitException("Tab never reached the next field.");
    }

    private static async Task AssertFitsTheScreenAsync(IPage page)
    {
        var width = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth");
        Assert.True(width <= page.ViewportSize!.Width, $"{page.Url} is {width} px wide on a {page.ViewportSize.Width} px screen");
    }
}
